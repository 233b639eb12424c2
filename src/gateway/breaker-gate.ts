import type { FastifyInstance } from 'fastify';
import type { Breakers } from '../lib/circuit-breaker.js';

/**
 * Breakers whose dependency every API request needs: PostgreSQL holds the
 * revocation list the bearer gate reads, the resources and the audit log.
 * Side paths (alert sinks, metrics) are deliberately absent: their breakers
 * never fail a request.
 */
export const requestPathBreakers: readonly string[] = ['postgres'];

/**
 * While a breaker on the request path is open, API requests answer 503
 * SERVICE_UNAVAILABLE with Retry-After at once (issue 5 item 3: "instead of
 * piling up"). It runs before authentication, which would need the database
 * for the revocation check; such a request is refused like the edge's
 * refusals, counted in metrics and not audited (the audit log shares the
 * database). Public routes run their own checks: `/ready` answers 503
 * through the breaker, `/health` stays up.
 */
export function registerBreakerGate(
  app: FastifyInstance,
  breakers: Breakers,
  names: readonly string[] = requestPathBreakers,
): void {
  // The open ones, kept up to date by state changes: a request asks a Set, not every breaker.
  const open = new Set(breakers.list().filter((breaker) => breaker.state === 'open' && names.includes(breaker.name)));
  const byName = (name: string) => breakers.list().find((breaker) => breaker.name === name);
  const unsubscribe = breakers.onStateChange((name, state) => {
    const breaker = byName(name);
    if (breaker === undefined || !names.includes(name)) return;
    if (state === 'open') open.add(breaker);
    else open.delete(breaker);
  });
  app.addHook('onClose', (_app, done) => {
    unsubscribe();
    done();
  });
  app.addHook('onRequest', async (request) => {
    if (open.size === 0 || request.routeOptions.config.access === 'public' || request.is404) return;
    for (const breaker of open) {
      // An open breaker refuses without calling the function, with the Retry-After of its own reset time;
      // the state check and the call run in the same tick, so a half-open trial is never consumed here.
      if (breaker.state === 'open') await breaker.run(() => Promise.resolve());
    }
  });
}
