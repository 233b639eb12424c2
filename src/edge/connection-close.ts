import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';

/**
 * The `connection-close` step (request-path step 9): a response sent before
 * the body finished arriving (an early 401 or 415) closes the connection, so
 * the rest of that body is never read as the next request, nor waits for a
 * timeout that answers a second time (RFC 9112 §9.6).
 */
export const connectionClosePlugin = fp(
  (app: FastifyInstance) => {
    app.pipeline.add({
      name: 'connection-close',
      run(request, reply) {
        if (!request.raw.complete) reply.header('connection', 'close');
        return undefined;
      },
    });
  },
  { name: 'caduceus-connection-close', dependencies: ['caduceus-pipeline'] },
);
