import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { createMemoryState } from '../../src/monitoring/state/memory.js';
import { createRedisState } from '../../src/monitoring/state/redis.js';
import { elapseOnRedisClock, redisSkip, testRedisUrl } from '../helpers/redis.js';
import { monitoringStateContract } from './state-contract.js';

const skip = await redisSkip();
const redis = skip === false ? new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 }) : null;
after(() => {
  redis?.disconnect();
});

/** Every Redis test gets its own key prefix, so runs and tests never see each other's keys. */
function prefix(): string {
  return `caduceus-test:${process.pid}:${randomUUID()}:`;
}

// In process, time is only the `now` each call is given: nothing to wait for.
monitoringStateContract('memory', () =>
  Promise.resolve({ state: createMemoryState(), elapse: () => Promise.resolve() }),
);
// Redis expires claims on its own clock (SET PX): that clock is the one waited for.
monitoringStateContract(
  'redis',
  () => Promise.resolve({ state: createRedisState(redis!, prefix()), elapse: (ms) => elapseOnRedisClock(redis!, ms) }),
  skip,
);

test('redis: every key the state writes expires', { skip }, async () => {
  const keyPrefix = prefix();
  const state = createRedisState(redis!, keyPrefix);
  const now = Date.now();
  await state.count('c', 1, 60_000, now);
  await state.distinct('d', ['x'], 60_000, now);
  await state.claim('k', 60_000, now);
  const keys = await redis!.keys(`${keyPrefix}*`);
  assert.equal(keys.length, 3);
  for (const key of keys) {
    const ttl = await redis!.pttl(key);
    assert.ok(ttl > 0 && ttl <= 66_000, `${key} expires (pttl ${ttl})`);
  }
});
