import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { openRedis } from '../../storage/redis/connection.js';
import type { Breakers } from '../../lib/circuit-breaker.js';
import { createMemoryRateLimitStore } from './memory-store.js';
import { createRedisRateLimitStore } from './redis-store.js';
import { createResilientStore } from './resilient-store.js';
import type { RateLimitStore } from './store.js';

/** Redis key prefix of the shared buckets. */
export const rateLimitRedisPrefix = 'caduceus:ratelimit:';

/** A shared rate-limit store and the way to close its connection. */
export interface OpenedRateLimitStore {
  readonly store: RateLimitStore;
  close(): Promise<void>;
}

/** A Redis decision slower than this counts against the `redis` breaker: it is on every request's path. */
const redisTimeoutMs = 500;

/** True when some policy is on; with CADUCEUS_RATE_LIMIT=off nothing is limited or opened. */
export function rateLimitsEnabled(config: Pick<Config, 'rateLimit'>): boolean {
  return Object.values(config.rateLimit.policies).some((policy) => policy !== null);
}

/**
 * With CADUCEUS_REDIS_URL set (and limits on), opens the Redis connection
 * and the shared store behind the `redis` breaker, degrading as
 * CADUCEUS_RATE_LIMIT_REDIS_FAILURE says; otherwise null (buildApp then keeps
 * buckets in process). Resolves even while Redis is away (openRedis fails fast).
 */
export async function openRateLimitStore(
  config: Pick<Config, 'redisUrl' | 'redisTls' | 'rateLimit' | 'breakers'>,
  deps: { readonly logger: Logger; readonly breakers: Breakers; readonly prefix?: string },
): Promise<OpenedRateLimitStore | null> {
  if (config.redisUrl === null || !rateLimitsEnabled(config)) return null;
  const redis = await openRedis(config.redisUrl, deps.logger, { tls: config.redisTls });
  const breaker = deps.breakers.create({ name: 'redis', timeoutMs: redisTimeoutMs, resetMs: config.breakers.resetMs });
  const store = createResilientStore(createRedisRateLimitStore(redis, deps.prefix ?? rateLimitRedisPrefix), {
    breaker,
    onFailure: config.rateLimit.redisFailure,
    local: createMemoryRateLimitStore(),
    retryAfterSeconds: Math.max(1, Math.ceil(config.breakers.resetMs / 1000)),
    logger: deps.logger,
  });
  return {
    store,
    close() {
      redis.disconnect();
      return Promise.resolve();
    },
  };
}
