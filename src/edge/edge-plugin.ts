import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';
import { securityHeaders } from './security-headers.js';

/** Media types the API accepts for bodies (FHIR R4 http.html#mime). */
export const acceptedMediaTypes = ['application/fhir+json', 'application/json'] as const;

/**
 * The edge layer (request-path step 1): the `request-id` step puts security
 * headers and the request id header on every response, refusals included;
 * bodies are parsed as JSON only (anything else 415, oversized 413 —
 * Fastify's bodyLimit, set from config in buildApp).
 */
export const edgePlugin = fp(
  (app: FastifyInstance) => {
    app.pipeline.add({
      name: 'request-id',
      run(request, reply) {
        reply.headers(securityHeaders);
        reply.header('x-request-id', request.id);
      },
    });
    app.removeAllContentTypeParsers();
    // Fastify's own JSON parser, refusing __proto__ and constructor.prototype keys outright.
    app.addContentTypeParser(
      [...acceptedMediaTypes],
      { parseAs: 'string' },
      app.getDefaultJsonParser('error', 'error'),
    );
  },
  { name: 'caduceus-edge', dependencies: ['caduceus-pipeline'] },
);
