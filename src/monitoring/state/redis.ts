import type { Redis } from 'ioredis';
import { bucketRange, type MonitoringState } from './ports.js';

/**
 * One atomic round trip per decision (Lua runs alone on the server), so that
 * several processes sharing Redis count globally: none misses its share.
 * Count: ARGV bucket, oldest bucket kept, amount, ttl ms.
 */
const countScript = `
local key = KEYS[1]
redis.call('HINCRBY', key, ARGV[1], ARGV[3])
local fields = redis.call('HGETALL', key)
local oldest = tonumber(ARGV[2])
local total = 0
for i = 1, #fields, 2 do
  if tonumber(fields[i]) < oldest then redis.call('HDEL', key, fields[i]) else total = total + tonumber(fields[i + 1]) end
end
redis.call('PEXPIRE', key, ARGV[4])
return total
`;

/** Distinct: ARGV cutoff (inclusive), now, ttl ms, members…; GT keeps a member's newest time (Redis 6.2+). */
const distinctScript = `
local key = KEYS[1]
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
local before = redis.call('ZCARD', key)
for i = 4, #ARGV do redis.call('ZADD', key, 'GT', ARGV[2], ARGV[i]) end
local after = redis.call('ZCARD', key)
redis.call('PEXPIRE', key, ARGV[3])
return {before, after}
`;

/** ioredis returns Lua integers as numbers; typed loosely here and checked by the contract suite. */
interface Scripted {
  monitoringCount(key: string, bucket: number, oldest: number, amount: number, ttlMs: number): Promise<unknown>;
  monitoringDistinct(key: string, cutoff: number, now: number, ttlMs: number, ...members: string[]): Promise<unknown>;
}

/**
 * Detection state in Redis: counters are hashes of buckets, distinct sets
 * sorted sets scored by last sight, claims `SET NX PX`; every key expires.
 * Keys start with `prefix` (a deployment shares them; a test isolates them).
 */
export function createRedisState(redis: Redis, prefix: string): MonitoringState {
  redis.defineCommand('monitoringCount', { numberOfKeys: 1, lua: countScript });
  redis.defineCommand('monitoringDistinct', { numberOfKeys: 1, lua: distinctScript });
  const scripted = redis as unknown as Scripted;
  return {
    async count(key, amount, windowMs, now) {
      const { bucketMs, current, oldest } = bucketRange(windowMs, now);
      return Number(
        await scripted.monitoringCount(`${prefix}count:${key}`, current, oldest, amount, windowMs + bucketMs),
      );
    },
    async distinct(key, members, windowMs, now) {
      const [before, after] = (await scripted.monitoringDistinct(
        `${prefix}distinct:${key}`,
        now - windowMs,
        now,
        windowMs,
        ...members,
      )) as [unknown, unknown];
      return { before: Number(before), after: Number(after) };
    },
    async claim(key, ttlMs) {
      return (await redis.set(`${prefix}claim:${key}`, '1', 'PX', Math.max(1, ttlMs), 'NX')) === 'OK';
    },
  };
}
