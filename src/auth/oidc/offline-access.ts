/**
 * SMART App Launch 2 apps ask for `offline_access` without `prompt=consent`;
 * oidc-provider follows OpenID Connect Core §11 and drops the scope unless
 * consent is prompted. Consent here is given with the login (clients are
 * registered by an operator, docs/oauth.md), so an authorization request that
 * asks for offline_access and names no prompt is treated as `prompt=consent`:
 * the user still passes the login (and MFA) pages, and the refresh token the
 * app asked for is issued.
 */
import type { Middleware } from 'koa';

/** Koa middleware run before the provider's authorization endpoint. */
export function smartOfflineAccess(authorizationPath: string): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === authorizationPath) {
      const query = ctx.query;
      const scope = typeof query.scope === 'string' ? query.scope.split(' ') : [];
      if (scope.includes('offline_access') && query.prompt === undefined) ctx.query = { ...query, prompt: 'consent' };
    }
    await next();
  };
}
