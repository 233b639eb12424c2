/**
 * Audit of the authorization server (HIPAA 164.312(b); the seed asks for
 * audit logs of all authentication attempts). oidc-provider is Koa-based
 * and bypasses Fastify's hooks, so it gets its own Koa middleware: one audit
 * event per request to an OAuth endpoint, durable before the response
 * leaves (DESIGN.md invariants), enriched by provider
 * events heard during that request (token issued, refresh, reuse detected,
 * revocation, client authentication failure). Events carry ids (client,
 * subject, grant), the grant type and the RFC 6749 error code, never a
 * token, code, secret, assertion or error description.
 */
import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuditEvent, AuditLog } from '../../audit/event.js';
import { randomHexId } from '../../lib/random.js';

/** What happened during one OAuth request, as the provider's events told it. */
export interface OAuthRequestRecord {
  readonly requestId: string;
  readonly sourceIp: string | null;
  readonly time: string;
  /** Outcomes in the order they happened, e.g. `refresh_reuse_detected`, `grant_revoked`. */
  readonly outcomes: string[];
  /** Grants revoked during the request. */
  readonly revokedGrants: string[];
  /** Writes that must be durable before the response leaves (revocation store). */
  readonly pending: Promise<unknown>[];
  subject: string | null;
}

/** Routes whose requests are audited: every endpoint that authenticates a client or a user. */
const auditedRoutes: ReadonlySet<string> = new Set([
  'authorization',
  'resume',
  'token',
  'introspection',
  'revocation',
  'end_session',
  'end_session_confirm',
]);

const stateKey = 'caduceusOAuth';

/** The record of the request being served, if any (read by event listeners through Provider.ctx). */
export function requestRecordOf(ctx: KoaContextWithOIDC | undefined): OAuthRequestRecord | undefined {
  const state: Record<string, unknown> | undefined = ctx?.state;
  return state?.[stateKey] as OAuthRequestRecord | undefined;
}

function errorCodeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const error = body.error;
  return typeof error === 'string' ? error : null;
}

/** The error code of a redirect to the client (authorization errors travel in the Location query). */
function redirectErrorOf(ctx: KoaContextWithOIDC): string | null {
  const location = ctx.response.get('location');
  if (location === '') return null;
  const error = URL.parse(location)?.searchParams.get('error');
  return error !== null && error !== undefined && /^[a-z_]{1,64}$/.test(error) ? error : null;
}

function grantTypeOf(ctx: KoaContextWithOIDC): string | null {
  const value = ctx.oidc.params?.grant_type;
  return typeof value === 'string' && /^[A-Za-z0-9:._-]{1,100}$/.test(value) ? value : null;
}

/** The main outcome of the request, from its route, status and what the events reported. */
function outcomeOf(ctx: KoaContextWithOIDC, record: OAuthRequestRecord, error: string | null): string {
  if (record.outcomes.includes('refresh_reuse_detected')) return 'refresh_reuse_detected';
  if (record.outcomes.includes('code_reuse_detected')) return 'code_reuse_detected';
  if (error === 'invalid_client') return 'client_auth_failed';
  const route = ctx.oidc.route;
  if (error !== null) return route === 'token' ? 'grant_error' : `${route}_error`;
  if (route === 'token') return grantTypeOf(ctx) === 'refresh_token' ? 'token_refreshed' : 'token_issued';
  if (route === 'revocation') return 'token_revoked';
  if (route === 'authorization' || route === 'resume') {
    // A redirect carrying a code back to the client, or one to the login pages.
    return URL.parse(ctx.response.get('location'), 'https://localhost')?.searchParams.has('code') === true
      ? 'code_issued'
      : 'interaction_started';
  }
  return route;
}

function eventOf(ctx: KoaContextWithOIDC, record: OAuthRequestRecord): AuditEvent {
  const error = errorCodeOf(ctx.body) ?? redirectErrorOf(ctx);
  const grantType = ctx.oidc.route === 'token' ? grantTypeOf(ctx) : null;
  const client = ctx.oidc.entities.Client?.clientId ?? null;
  const grantId = ctx.oidc.entities.Grant?.jti;
  return {
    time: record.time,
    requestId: record.requestId,
    category: 'auth',
    actor: {
      subject: record.subject ?? ctx.oidc.entities.Account?.accountId ?? null,
      client,
      role: null,
      sourceIp: record.sourceIp,
    },
    action: {
      interaction: `oauth.${ctx.oidc.route}`,
      resourceType: null,
      resourceId: null,
      details: {
        outcome: outcomeOf(ctx, record, error),
        ...(grantType !== null && { grantType }),
        ...(typeof grantId === 'string' && { grantId }),
        ...(record.revokedGrants.length > 0 && { revokedGrants: record.revokedGrants.join(' ') }),
      },
    },
    outcome: { status: ctx.status, code: error },
  };
}

/** Who sent a request, as Fastify resolved it (its request id; the client address with trusted proxies applied). */
export interface RequestOrigin {
  readonly requestId: string;
  readonly sourceIp: string | null;
}

const originKey = Symbol('caduceus.oauthOrigin');

/** The mount records the Fastify request's origin on the raw request before the provider sees it. */
export function setRequestOrigin(req: IncomingMessage, origin: RequestOrigin): void {
  (req as unknown as Record<symbol, RequestOrigin>)[originKey] = origin;
}

function requestOriginOf(ctx: KoaContextWithOIDC): RequestOrigin {
  // A request that did not come through the mount (none should) gets a fresh id and no address.
  return (
    (ctx.req as unknown as Record<symbol, RequestOrigin | undefined>)[originKey] ?? {
      requestId: randomHexId(),
      sourceIp: null,
    }
  );
}

/**
 * The Koa middleware: security headers on every provider response, and one
 * durable audit event per OAuth endpoint request. If the event cannot be
 * written the request fails closed with 503 `temporarily_unavailable`.
 */
export function oauthAuditMiddleware(audit: AuditLog, headers: Readonly<Record<string, string>>): Middleware {
  return async (koaCtx, next) => {
    const ctx = koaCtx as unknown as KoaContextWithOIDC;
    const { requestId, sourceIp } = requestOriginOf(ctx);
    const record: OAuthRequestRecord = {
      requestId,
      sourceIp,
      time: new Date().toISOString(),
      outcomes: [],
      revokedGrants: [],
      pending: [],
      subject: null,
    };
    (ctx.state as Record<string, unknown>)[stateKey] = record;
    ctx.set(headers);
    ctx.set('x-request-id', requestId);
    await next();
    // Provider handlers may have replaced headers; ours win (src/edge/security-headers.ts).
    ctx.set(headers);
    try {
      await Promise.all(record.pending);
      const route = (ctx.oidc as { route?: string } | undefined)?.route;
      if (route !== undefined && auditedRoutes.has(route)) await audit.record(eventOf(ctx, record));
    } catch {
      ctx.status = 503;
      ctx.remove('location');
      ctx.body = { error: 'temporarily_unavailable' };
    }
  };
}
