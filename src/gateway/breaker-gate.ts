import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';
import type { Breaker, Breakers } from '../lib/circuit-breaker.js';

/**
 * Breakers whose dependency every API request needs: PostgreSQL holds the
 * revocation list the bearer gate reads, the resources and the audit log.
 * Side paths (alert sinks, metrics) are deliberately absent: their breakers
 * never fail a request.
 */
export const requestPathBreakers: readonly string[] = ['postgres'];

/** The breakers to watch, and which of them are on the request path. */
export interface BreakerGateOptions {
  readonly breakers: Breakers;
  readonly names?: readonly string[];
}

/**
 * While a breaker on the request path is open, API requests answer 503
 * SERVICE_UNAVAILABLE with Retry-After at once, instead of piling up behind
 * the stalled dependency (docs/circuit-breakers.md). It runs before
 * authentication, which would need the database for the revocation check;
 * such a request is refused like the edge's refusals, counted in metrics and
 * not audited (the audit log shares the database). Public routes run their
 * own checks: `/ready` answers 503 through the breaker, `/health` stays up.
 * The `breaker-gate` step: no promise at all while every breaker is closed.
 */
export const breakerGatePlugin = fp(
  (app: FastifyInstance, options: BreakerGateOptions) => {
    const { breakers, names = requestPathBreakers } = options;
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
    app.pipeline.add({
      name: 'breaker-gate',
      run(request) {
        if (open.size === 0 || request.routeOptions.config.access === 'public' || request.is404) return undefined;
        return refuseWhileOpen(open);
      },
    });
  },
  { name: 'caduceus-breaker-gate', dependencies: ['caduceus-pipeline'] },
);

async function refuseWhileOpen(open: ReadonlySet<Breaker>): Promise<void> {
  for (const breaker of open) {
    // An open breaker refuses without calling the function, with the Retry-After of its own reset time;
    // the state check and the call run in the same tick, so a half-open trial is never consumed here.
    if (breaker.state === 'open') await breaker.run(() => Promise.resolve());
  }
}
