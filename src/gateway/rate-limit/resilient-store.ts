import type { Logger } from 'pino';
import { ApiError, isApiError } from '../../errors/index.js';
import { withLocalFallback, type Breaker } from '../../lib/circuit-breaker.js';
import type { RateLimitStore } from './store.js';

/** Options of {@link createResilientStore}. */
export interface ResilientStoreOptions {
  /** The `redis` breaker: while open, decisions do not wait for Redis at all. */
  readonly breaker: Breaker;
  /** CADUCEUS_RATE_LIMIT_REDIS_FAILURE: in-process buckets meanwhile, or 503. */
  readonly onFailure: 'local' | 'closed';
  /** The in-process buckets `local` falls back to. */
  readonly local: RateLimitStore;
  /** Retry-After of a `closed` refusal that the breaker did not produce itself. */
  readonly retryAfterSeconds: number;
  readonly logger: Logger;
}

/**
 * The shared store behind the `redis` circuit breaker. While Redis fails,
 * `local` decides with this process's own buckets (every process then
 * enforces the limit on its own: N processes allow up to N times it), and
 * `closed` refuses with 503 SERVICE_UNAVAILABLE and Retry-After. Buckets
 * counted locally meanwhile are not carried into Redis; when the breaker
 * lets a trial call through and it succeeds, Redis decides again.
 */
export function createResilientStore(shared: RateLimitStore, options: ResilientStoreOptions): RateLimitStore {
  const attempt = withLocalFallback(options.breaker, options.logger, {
    lost: {
      event: 'rate_limit.store_unavailable',
      message: `rate-limit store unavailable; ${options.onFailure === 'local' ? 'in-process buckets' : 'refusing'} meanwhile`,
    },
    restored: { event: 'rate_limit.store_shared', message: 'rate limits decided in Redis again' },
  });
  return {
    take: (key, limit) =>
      attempt(
        () => shared.take(key, limit),
        (error) => {
          if (options.onFailure === 'local') return options.local.take(key, limit);
          // The breaker's own refusal already carries the Retry-After of its reset time.
          if (isApiError(error) && error.code === 'SERVICE_UNAVAILABLE') throw error;
          throw new ApiError('SERVICE_UNAVAILABLE', undefined, { 'Retry-After': String(options.retryAfterSeconds) });
        },
      ),
  };
}
