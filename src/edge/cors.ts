import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/index.js';
import '../http/pipeline-plugin.js';

/** What a browser app may send and read (Fetch standard, "CORS protocol"). */
const allowMethods = 'GET, HEAD, POST, PUT, DELETE';
const allowHeaders = 'Authorization, Content-Type, If-Match, Accept';
const exposeHeaders =
  'ETag, Location, Last-Modified, X-Request-Id, WWW-Authenticate, Retry-After, RateLimit, RateLimit-Policy';
/** Seconds a browser may cache a preflight answer. */
const maxAgeSeconds = '600';

function appendVary(reply: FastifyReply, names: string): void {
  const current = reply.getHeader('vary');
  reply.header('vary', current === undefined ? names : `${String(current)}, ${names}`);
}

/**
 * CORS for browser apps by exact origin allow-list (CADUCEUS_CORS_ORIGINS,
 * docs/access-control.md "CORS"). Hand-written: @fastify/cors is not a
 * dependency, and the rule we need is small and strict: exact string match
 * of the Origin header, never a wildcard, never credentials (the API takes
 * bearer tokens, not cookies), and no CORS headers at all for an origin not
 * on the list. Preflights are answered here, before authentication: they
 * carry no token and touch no data.
 */
export const corsPlugin = fp(
  (app: FastifyInstance, options: { readonly allowedOrigins: readonly string[] }) => {
    const allowed = new Set(options.allowedOrigins);
    // Nothing configured: responses never vary by Origin, and no CORS header is ever sent.
    if (allowed.size === 0) return;
    app.pipeline.add({
      name: 'cors',
      run(request, reply) {
        // Every answer depends on Origin once an allow-list exists: shared caches must key on it.
        appendVary(reply, 'Origin');
        const origin = request.headers.origin;
        const preflight =
          request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
        if (origin === undefined || !allowed.has(origin)) {
          // An unknown origin's preflight gets a plain refusal without CORS headers: the browser then blocks the real request.
          if (preflight) throw new ApiError('FORBIDDEN', 'This origin is not allowed to call the API');
          return;
        }
        reply.header('access-control-allow-origin', origin);
        if (!preflight) {
          reply.header('access-control-expose-headers', exposeHeaders);
          return;
        }
        appendVary(reply, 'Access-Control-Request-Method, Access-Control-Request-Headers');
        // The pipeline stops at an answered request: the preflight goes no further.
        void reply
          .code(204)
          .header('access-control-allow-methods', allowMethods)
          .header('access-control-allow-headers', allowHeaders)
          .header('access-control-max-age', maxAgeSeconds)
          .send();
      },
    });
  },
  { name: 'caduceus-cors', dependencies: ['caduceus-pipeline'] },
);
