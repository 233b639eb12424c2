import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors/index.js';

/**
 * Liveness and readiness for orchestrators: no token, no detail beyond the
 * status (which database, which version, how long up: none of it is said).
 */
export function registerHealthRoutes(app: FastifyInstance, ready: () => Promise<void>): void {
  app.get('/health', { config: { access: 'public' } }, () => ({ status: 'ok' }));
  app.get('/ready', { config: { access: 'public' } }, async () => {
    try {
      await ready();
    } catch {
      throw new ApiError('SERVICE_UNAVAILABLE');
    }
    return { status: 'ready' };
  });
}
