import type { Logger } from 'pino';
import { withLocalFallback, type Breaker } from '../../lib/circuit-breaker.js';
import type { MonitoringState } from './ports.js';

/**
 * Shared state through a breaker (`redis-monitoring`), degrading to local
 * state while Redis fails: monitoring is a side path and never blocks or
 * fails a request (docs/circuit-breakers.md). Counts made locally meanwhile
 * are not replayed into Redis later; docs/monitoring.md says so.
 */
export function createResilientState(
  shared: MonitoringState,
  local: MonitoringState,
  breaker: Breaker,
  logger: Logger,
): MonitoringState {
  const attempt = withLocalFallback(breaker, logger, {
    lost: {
      event: 'monitoring.state_local',
      message: 'monitoring state unavailable in Redis; counting in this process',
    },
    restored: { event: 'monitoring.state_shared', message: 'monitoring state shared through Redis again' },
  });
  const either = <T>(call: (state: MonitoringState) => Promise<T>): Promise<T> =>
    attempt(
      () => call(shared),
      () => call(local),
    );
  return {
    count: (key, amount, windowMs, now) => either((state) => state.count(key, amount, windowMs, now)),
    distinct: (key, members, windowMs, now) => either((state) => state.distinct(key, members, windowMs, now)),
    claim: (key, ttlMs, now) => either((state) => state.claim(key, ttlMs, now)),
  };
}
