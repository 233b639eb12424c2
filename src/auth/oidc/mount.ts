/**
 * Mounts the authorization server in Fastify. oidc-provider is a Koa app:
 * its routes are registered here one by one (so nothing else is swallowed),
 * pass the edge, the IP buckets and the `auth` rate limit like any public
 * route, and then hand the raw request to Koa (reply.hijack). From there the
 * provider's own Koa middleware sets the security headers and writes the
 * audit event (oauth-audit.ts); errors are RFC 6749 §5.2 JSON, not the API
 * envelope (DESIGN.md invariants).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimitClass } from '../../config/rate-limit-policies.js';
import type { MountedAuthorizationServer } from './authorization-server.js';
import { setRequestCertificate } from './mtls.js';
import { setRequestOrigin } from './oauth-audit.js';
import { smartConfiguration } from './smart-configuration.js';

/**
 * Every provider route: [method(s), path, rate-limit class]. The token-side endpoints (where client
 * secrets and assertions are tried) take the strict `auth` bucket; the authorization endpoint only
 * redirects to the login pages, which take `auth` themselves.
 */
const providerRoutes: readonly (readonly [readonly ('GET' | 'POST')[], string, RateLimitClass])[] = [
  [['GET'], '/.well-known/openid-configuration', 'default'],
  [['GET'], '/jwks', 'default'],
  [['GET', 'POST'], '/authorize', 'default'],
  [['GET'], '/authorize/:uid', 'default'],
  [['POST'], '/token', 'auth'],
  [['POST'], '/token/introspection', 'auth'],
  [['POST'], '/token/revocation', 'auth'],
  [['GET', 'POST'], '/session/end', 'default'],
  [['POST'], '/session/end/confirm', 'default'],
  [['GET'], '/session/end/success', 'default'],
];

/** Forwarding headers only the mount may set: the provider must not trust a client's. */
const forwardingHeaders = ['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for', 'x-forwarded-port', 'forwarded'];

function handOver(server: MountedAuthorizationServer) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const handler = await server.handler();
    const raw = request.raw;
    for (const name of forwardingHeaders) Reflect.deleteProperty(raw.headers, name);
    // The listener is TLS 1.3 only (src/edge/tls.ts): tell Koa so, whatever socket `inject` uses in tests.
    raw.headers['x-forwarded-proto'] = 'https';
    setRequestOrigin(raw, { requestId: request.id, sourceIp: request.ip });
    // RFC 8705: the certificate the edge verified (device listener) or believed (trusted proxy), for client auth and token binding.
    setRequestCertificate(raw, request.clientCertificate);
    // Headers earlier hooks set (rate-limit state, request id) travel with the provider's response.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    reply.hijack();
    await handler(raw, reply.raw);
  };
}

/**
 * Registers the provider's routes and the SMART configuration of each API
 * base, in an encapsulated context whose only body parser leaves the
 * form-encoded stream for Koa to read.
 */
export async function registerAuthorizationServer(
  app: FastifyInstance,
  server: MountedAuthorizationServer,
  options: { readonly apiBases: readonly string[] },
): Promise<void> {
  await app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    // RFC 6749 §4.1.3, §3.2: token-side requests are application/x-www-form-urlencoded; Koa parses them (with its own limit).
    scope.addContentTypeParser('application/x-www-form-urlencoded', (_request, _payload, next) => {
      next(null);
    });
    const handle = handOver(server);
    for (const [methods, url, rateLimit] of providerRoutes) {
      scope.route({ method: [...methods], url, config: { access: 'public', rateLimit }, handler: handle });
    }
    done();
  });
  for (const base of options.apiBases) {
    // SMART App Launch 2 §"Retrieve .well-known/smart-configuration": one document per FHIR base URL.
    app.get(`${base}/.well-known/smart-configuration`, { config: { access: 'public' } }, () =>
      smartConfiguration(server.issuer, server.mtlsBaseUrl),
    );
  }
}
