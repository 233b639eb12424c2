import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors/index.js';

/**
 * Liveness and readiness for orchestrators: no token, no detail beyond the
 * status (which database, which version, how long up: none of it is said).
 */
export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<void>): void {
  // Liveness answers from the process alone, without a rate-limit bucket: with CADUCEUS_RATE_LIMIT_REDIS_FAILURE=closed
  // a Redis outage would otherwise fail it, and an orchestrator would restart every process for what readiness reports.
  app.get('/health', { config: { access: 'public', rateLimit: false } }, () => ({ status: 'ok' }));
  app.get('/ready', { config: { access: 'public' } }, async () => {
    try {
      await ready();
    } catch {
      throw new ApiError('SERVICE_UNAVAILABLE');
    }
    return { status: 'ready' };
  });
}
