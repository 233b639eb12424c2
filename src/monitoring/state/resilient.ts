import type { Logger } from 'pino';
import type { Breaker } from '../../gateway/circuit-breaker.js';
import type { MonitoringState } from './ports.js';

/**
 * Shared state through a breaker (`redis-monitoring`), degrading to local
 * state while Redis fails: monitoring is a side path and never blocks or
 * fails a request (issue 5 item 3). Counts made locally meanwhile are not
 * replayed into Redis later; docs/monitoring.md says so.
 */
export function createResilientState(shared: MonitoringState, local: MonitoringState, breaker: Breaker, logger: Logger): MonitoringState {
  let degraded = false;
  async function attempt<T>(call: (state: MonitoringState) => Promise<T>): Promise<T> {
    try {
      const result = await breaker.run(() => call(shared));
      if (degraded) {
        degraded = false;
        logger.info({ event: 'monitoring.state_shared' }, 'monitoring state shared through Redis again');
      }
      return result;
    } catch (error) {
      if (!degraded) {
        degraded = true;
        logger.warn({ event: 'monitoring.state_local', errorType: (error as Error).name }, 'monitoring state unavailable in Redis; counting in this process');
      }
      return call(local);
    }
  }
  return {
    count: (key, amount, windowMs, now) => attempt((state) => state.count(key, amount, windowMs, now)),
    distinct: (key, members, windowMs, now) => attempt((state) => state.distinct(key, members, windowMs, now)),
    claim: (key, ttlMs, now) => attempt((state) => state.claim(key, ttlMs, now)),
  };
}
