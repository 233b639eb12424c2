import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { securityHeaders } from './security-headers.js';

/** Media types the API accepts for bodies (FHIR R4 http.html#mime). */
export const acceptedMediaTypes = ['application/fhir+json', 'application/json'] as const;

/**
 * The edge layer (request-path step 1): security headers and the request id
 * header on every response, connection close after an early answer, and
 * JSON-only body parsing (anything else 415, oversized 413 — Fastify's
 * bodyLimit, set from config in buildApp).
 */
export const edgePlugin = fp(
  (app: FastifyInstance) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(securityHeaders);
      reply.header('x-request-id', request.id);
      done();
    });
    // A response sent before the body finished arriving (an early 401 or 415)
    // closes the connection: the rest of that body must never be read as the
    // next request, nor wait for a timeout that answers a second time (RFC 9112 §9.6).
    app.addHook('onSend', (request, reply, payload, done) => {
      if (!request.raw.complete) reply.header('connection', 'close');
      done(null, payload);
    });
    app.removeAllContentTypeParsers();
    // Fastify's own JSON parser, refusing __proto__ and constructor.prototype keys outright.
    app.addContentTypeParser(
      [...acceptedMediaTypes],
      { parseAs: 'string' },
      app.getDefaultJsonParser('error', 'error'),
    );
  },
  { name: 'caduceus-edge' },
);
