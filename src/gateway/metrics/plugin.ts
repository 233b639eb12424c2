import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import '../../http/pipeline-plugin.js';
import { reachedAuthentication } from '../../http/request-context.js';
import type { Metrics } from './metrics.js';

/**
 * Request metrics, the `request-metrics` step, and the protected
 * `GET /metrics` (request-path step 9; docs/metrics.md). Requests are
 * counted by route pattern, never by URL: ids and search values in paths
 * and query strings are PHI. Scraping needs a bearer token whose role holds
 * `read` on the `Metrics` pseudo resource (docs/access-control.md), and is
 * audited like every API request.
 */
export const metricsPlugin = fp(
  (app: FastifyInstance, options: { metrics: Metrics }) => {
    const { metrics } = options;
    app.pipeline.add({
      name: 'request-metrics',
      run(request, reply) {
        metrics.observeRequest(
          { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: reply.statusCode },
          reply.elapsedTime / 1000,
        );
        // The bearer gate ran and produced no principal: the token was missing or refused (src/auth/authenticate-plugin.ts).
        if (request[reachedAuthentication] === true && request.principal === null)
          metrics.countAuthFailure(request.authFailure ?? 'missing');
      },
    });
    app.addHook('onClose', (_app, done) => {
      metrics.close();
      done();
    });
    app.get(
      '/metrics',
      { config: { access: { resourceType: 'Metrics', interaction: 'read' } } },
      async (_request, reply) => {
        const body = await metrics.render();
        return reply.type(metrics.contentType).send(body);
      },
    );
  },
  { name: 'caduceus-metrics', dependencies: ['caduceus-pipeline', 'caduceus-authenticate'] },
);
