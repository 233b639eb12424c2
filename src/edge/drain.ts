import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/index.js';
import '../http/pipeline-plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts the drain: from now on every request is answered 503 with Connection: close (src/edge/drain.ts). */
    startDrain(): void;
  }
}

/**
 * The `drain` step (request-path step 1). Node closes idle keep-alive
 * connections the moment a server closes, so a request a client had just
 * sent on one met a reset. A stopping server first drains for
 * CADUCEUS_SHUTDOWN_DRAIN_MS: it keeps every connection and answers each
 * request 503 with Retry-After and Connection: close (RFC 9112 §9.6), so the
 * client learns to go elsewhere on a fresh connection; only then does it
 * close.
 */
export const drainPlugin = fp(
  (app: FastifyInstance) => {
    const state = { draining: false };
    app.decorate('startDrain', () => {
      state.draining = true;
    });
    app.pipeline.add({
      name: 'drain',
      run(_request, reply) {
        if (!state.draining) return;
        reply.header('connection', 'close');
        throw new ApiError('SERVICE_UNAVAILABLE', undefined, { 'Retry-After': '1' });
      },
    });
  },
  { name: 'caduceus-drain', dependencies: ['caduceus-pipeline'] },
);
