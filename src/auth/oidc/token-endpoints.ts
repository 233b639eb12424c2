/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of our JWT access
 * tokens. oidc-provider only knows tokens it stored, and RFC 9068 tokens are
 * not stored, so after the provider authenticated the client and answered
 * for stored tokens (refresh tokens), this Koa middleware answers for access
 * tokens with the bearer gate's own verifier: a revoked, expired or tampered
 * token is inactive, exactly as the API would refuse it.
 */
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Principal } from '../../http/principal.js';
import type { RevocationStore } from '../revocation.js';
import type { BearerVerifier } from '../authenticate-plugin.js';
import { requestRecordOf } from './oauth-audit.js';

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

async function verifiedFor(verifier: BearerVerifier, ctx: KoaContextWithOIDC): Promise<Principal | undefined> {
  const token = ctx.oidc.params?.token;
  if (typeof token !== 'string' || !jwtShape.test(token)) return undefined;
  let principal: Principal;
  try {
    principal = await verifier.verify(token);
  } catch {
    return undefined;
  }
  // A client learns about, or revokes, only its own tokens (RFC 7009 §2.1, RFC 7662 §4).
  return principal.clientId === ctx.oidc.client?.clientId ? principal : undefined;
}

/** RFC 7662 §2.2 plus SMART App Launch 2 "Token Introspection" fields. */
function introspection(principal: Principal): Record<string, unknown> {
  return {
    active: true,
    scope: principal.scopes.join(' '),
    client_id: principal.clientId,
    sub: principal.subject,
    exp: principal.expiresAt,
    iat: principal.issuedAt,
    iss: principal.issuer,
    jti: principal.tokenId,
    token_type: 'Bearer',
    role: principal.role,
    ...(principal.patient !== null && { patient: principal.patient }),
    ...(principal.grantId !== null && { grant_id: principal.grantId }),
    ...(principal.acr !== null && { acr: principal.acr }),
    ...(principal.amr.length > 0 && { amr: [...principal.amr] }),
    // RFC 8705 §3.2: a resource server that introspects learns the certificate binding.
    ...(principal.certificateThumbprint !== null && { cnf: { 'x5t#S256': principal.certificateThumbprint } }),
  };
}

/** oidc-provider answers a JWT at these endpoints with `unsupported_token_type`, after it authenticated the client. */
function isStructuredTokenRefusal(ctx: KoaContextWithOIDC): boolean {
  return (
    ctx.status === 400 &&
    ctx.oidc.entities.Client !== undefined &&
    (ctx.body as { error?: unknown } | undefined)?.error === 'unsupported_token_type'
  );
}

/** The post-processing middleware for the introspection and revocation endpoints. */
export function accessTokenEndpoints(verifier: BearerVerifier, revocation: RevocationStore): Middleware {
  return async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as unknown as KoaContextWithOIDC;
    const route = (ctx.oidc as { route?: string } | undefined)?.route;
    if ((route !== 'introspection' && route !== 'revocation') || !isStructuredTokenRefusal(ctx)) return;
    const principal = await verifiedFor(verifier, ctx);
    ctx.status = 200;
    if (route === 'introspection') {
      // RFC 7662 §2.2: anything not active (revoked, expired, tampered, another client's) is just `active: false`.
      ctx.body = principal === undefined ? { active: false } : introspection(principal);
      return;
    }
    // RFC 7009 §2.2: 200 whether or not the token was valid.
    ctx.body = '';
    if (principal === undefined) return;
    // From now on the token is refused everywhere the gate runs.
    await revocation.revokeToken(principal.tokenId, principal.expiresAt);
    const record = requestRecordOf(ctx);
    if (record !== undefined) {
      record.subject = principal.subject;
      record.outcomes.push('access_token_revoked');
    }
  };
}

/**
 * SMART App Launch 2 "launch context": a token response granted `launch/patient`
 * names the patient beside the access token. The value is the `patient` claim
 * of the access token this server just signed (decoded, not re-verified).
 */
export function smartLaunchContext(): Middleware {
  return async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as unknown as KoaContextWithOIDC;
    if ((ctx.oidc as { route?: string } | undefined)?.route !== 'token' || ctx.status !== 200) return;
    const body = ctx.body as { access_token?: unknown } | undefined;
    // The code or refresh token holds every granted scope; the response's `scope` only the API's.
    const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode;
    if (typeof body?.access_token !== 'string' || source?.scopes.has('launch/patient') !== true) return;
    const payload = JSON.parse(Buffer.from(body.access_token.split('.')[1] ?? '', 'base64url').toString()) as {
      patient?: unknown;
    };
    if (typeof payload.patient === 'string') ctx.body = { ...body, patient: payload.patient };
  };
}
