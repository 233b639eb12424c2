import type { Redis } from 'ioredis';
import { gcraEpsilonMs, type BucketDecision } from './gcra.js';
import type { RateLimitStore } from './store.js';

/**
 * gcra.ts in Lua: one EVALSHA per decision, atomic on the server (a script
 * runs alone), on the server's clock (TIME), so processes whose clocks
 * disagree still share one bucket exactly. The TAT is kept with microsecond
 * precision and expires when the bucket is full again: an idle key vanishes.
 * KEYS[1] bucket; ARGV[1] emission interval ms; ARGV[2] burst; ARGV[3] float slack ms.
 * Returns allowed (0/1), remaining, reset ms, retry-after ms.
 */
const takeScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local epsilon = tonumber(ARGV[3])
local start = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local tat = tonumber(stored)
  if tat and tat > now then start = tat end
end
local capacity = emission * burst
local nextTat = start + emission
local allowAt = nextTat - capacity
if allowAt - now > epsilon then
  local remaining = math.max(0, math.floor((capacity - (start - now)) / emission + epsilon))
  return {0, remaining, math.ceil(start - now - epsilon), math.ceil(allowAt - now - epsilon)}
end
local ttl = math.max(1, math.ceil(nextTat - now))
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', ttl)
local remaining = math.max(0, math.floor((capacity - (nextTat - now)) / emission + epsilon))
return {1, remaining, math.ceil(nextTat - now - epsilon), 0}
`;

/** ioredis's defineCommand adds this method; Lua integers come back as numbers. */
interface Scripted {
  caduceusRateLimitTake(key: string, emissionMs: string, burst: number, epsilonMs: string): Promise<unknown>;
}

/** Parses the script's reply, refusing anything else (a wrong reply must not read as "allowed"). */
function decisionOf(reply: unknown): BucketDecision {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((value) => typeof value === 'number')) {
    throw new Error('unexpected rate-limit script reply');
  }
  const [allowed, remaining, resetMs, retryAfterMs] = reply as [number, number, number, number];
  return { allowed: allowed === 1, remaining, resetMs: Math.max(0, resetMs), retryAfterMs: Math.max(0, retryAfterMs) };
}

/**
 * Token buckets in Redis, shared by every process of a deployment. Keys
 * start with `prefix` (a deployment shares them; a test isolates them).
 */
export function createRedisRateLimitStore(redis: Redis, prefix: string): RateLimitStore {
  // defineCommand sends EVALSHA and falls back to EVAL once when the server does not know the script yet.
  redis.defineCommand('caduceusRateLimitTake', { numberOfKeys: 1, lua: takeScript });
  const scripted = redis as unknown as Scripted;
  return {
    async take(key, limit) {
      // Full precision as text: Lua parses it back to the same double.
      return decisionOf(
        await scripted.caduceusRateLimitTake(
          `${prefix}${key}`,
          String(limit.emissionMs),
          limit.burst,
          String(gcraEpsilonMs),
        ),
      );
    },
  };
}
