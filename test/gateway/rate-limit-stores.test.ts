/**
 * The rate-limit store contract against both adapters (STYLE.md #2): the
 * in-process Map and Redis (one Lua script per decision, on the server's
 * clock). Redis runs under CI=true; elsewhere it is skipped with a notice
 * when CADUCEUS_TEST_REDIS_URL does not answer.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { createMemoryRateLimitStore } from '../../src/gateway/rate-limit/memory-store.js';
import { createRedisRateLimitStore } from '../../src/gateway/rate-limit/redis-store.js';
import { elapseOnRedisClock, redisSkip, testRedisUrl } from '../helpers/redis.js';
import { until } from '../helpers/until.js';
import { rateLimitStoreContract } from './rate-limit-contract.js';

const skip = await redisSkip();
const redis = skip === false ? new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 }) : null;
after(() => {
  redis?.disconnect();
});

/** Every Redis test gets its own key prefix, so runs and tests never see each other's keys. */
function prefix(): string {
  return `caduceus-test:${process.pid}:${randomUUID()}:`;
}

// The in-process store on a fake clock: resting a bucket costs no real time.
rateLimitStoreContract('memory', () => {
  let now = Date.parse('2025-01-14T10:00:00.000Z');
  const store = createMemoryRateLimitStore({ now: () => now });
  return Promise.resolve({
    store,
    elapse: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  });
});
// Redis decides on its own clock (TIME inside the script): that clock is the one waited for.
rateLimitStoreContract(
  'redis',
  () =>
    Promise.resolve({
      store: createRedisRateLimitStore(redis!, prefix()),
      elapse: (ms) => elapseOnRedisClock(redis!, ms),
    }),
  skip,
);

test(
  'redis: one round trip per decision (EVALSHA once the script is loaded), and a bucket key expires when the bucket is full again',
  { skip },
  async () => {
    const keyPrefix = prefix();
    const store = createRedisRateLimitStore(redis!, keyPrefix);
    const limit = { emissionMs: 1000, burst: 5 };
    await store.take('warm', limit);
    const monitor = await redis!.monitor();
    const commands: string[] = [];
    // Commands the script runs inside Redis are listed too, with source "lua": only the client's own count as round trips.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.startsWith(keyPrefix)))
        commands.push(String(args[0]).toLowerCase());
    });
    await store.take('k', limit);
    await store.take('k', limit);
    // MONITOR lines arrive asynchronously, in the order Redis ran the commands: once a marker command sent
    // after ours is seen, every one of ours has been too.
    await redis!.exists(`${keyPrefix}marker`);
    await until(() => commands.includes('exists'), 5_000, 'the marker command on MONITOR');
    monitor.disconnect();
    assert.deepEqual(commands, ['evalsha', 'evalsha', 'exists']);
    const ttl = await redis!.pttl(`${keyPrefix}k`);
    assert.ok(ttl > 0 && ttl <= 2000, `expires with the bucket full again (pttl ${ttl})`);
  },
);

test(
  'redis: two stores on separate connections share one bucket, whatever the clocks of their processes say',
  { skip },
  async (t) => {
    const other = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    t.after(() => {
      other.disconnect();
    });
    const keyPrefix = prefix();
    const one = createRedisRateLimitStore(redis!, keyPrefix);
    const two = createRedisRateLimitStore(other, keyPrefix);
    const limit = { emissionMs: 3_600_000, burst: 6 };
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).take('shared', limit)),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 6);
  },
);
