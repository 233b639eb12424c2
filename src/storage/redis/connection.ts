import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClientTlsFiles } from '../../config/client-tls.js';
import { clientTlsOptions } from '../client-tls.js';

/** Options of {@link openRedis}. */
export interface OpenRedisOptions {
  readonly keyPrefix?: string;
  /** Verified TLS (config.redisTls, a rediss:// URL; docs/database-tls.md); absent or null: none. */
  readonly tls?: ClientTlsFiles | null;
}

/**
 * Opens the Redis connection shared state goes through (rate-limit buckets,
 * monitoring counters). Commands fail at once while Redis is unreachable
 * (no offline queue, one retry) so that callers can fall back or fail closed
 * within a request's time instead of waiting; the client keeps reconnecting
 * in the background. Resolves once connected, or after the first failure
 * (the caller's fallback policy then applies until Redis is back). Errors are
 * logged by code: the URL may hold a password. With `tls` the server's
 * certificate and host name are verified (our options replace ioredis's
 * `tls: true` for rediss://).
 */
export async function openRedis(url: string, logger: Logger, options: OpenRedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...(options.keyPrefix !== undefined && { keyPrefix: options.keyPrefix }),
    ...(options.tls !== undefined && options.tls !== null && { tls: clientTlsOptions(options.tls) }),
  });
  let lastCode: string | undefined;
  redis.on('error', (error: Error & { code?: string }) => {
    // One line per change of failure, not one per reconnection attempt.
    if (error.code === lastCode) return;
    lastCode = error.code;
    logger.warn({ event: 'redis.error', code: error.code ?? error.name }, 'redis unavailable');
  });
  redis.on('ready', () => {
    if (lastCode !== undefined) logger.info({ event: 'redis.ready' }, 'redis reachable again');
    lastCode = undefined;
  });
  await Promise.race([once(redis, 'ready'), once(redis, 'error')]).catch(() => undefined);
  return redis;
}
