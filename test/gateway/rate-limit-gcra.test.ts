/**
 * The token bucket as a pure function (src/gateway/rate-limit/gcra.ts), the
 * in-process store's bounded memory, the policy setting's parser and the
 * header members, all on a fake clock: no sleeping.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { takeToken, type BucketDecision, type BucketLimit } from '../../src/gateway/rate-limit/gcra.js';
import { policyHeaderItem, retryAfterSeconds, stateHeaderItem } from '../../src/gateway/rate-limit/headers.js';
import { createMemoryRateLimitStore } from '../../src/gateway/rate-limit/memory-store.js';
import {
  bucketLimitOf,
  defaultRateLimitPolicies,
  parseRateLimitPolicies,
  RateLimitSettingError,
} from '../../src/config/rate-limit-policies.js';

const t0 = Date.parse('2025-01-14T10:00:00.000Z');

/** Runs `times` decisions at the given instants on one bucket, threading its TAT through. */
function run(limit: BucketLimit, instants: readonly number[]): BucketDecision[] {
  let tat: number | null = null;
  return instants.map((now) => {
    const result = takeToken(tat, now, limit);
    tat = result.tat;
    return result.decision;
  });
}

test('a rested bucket allows exactly its burst at once, counting down, then refuses', () => {
  const limit = { emissionMs: 1000, burst: 3 };
  const decisions = run(limit, [t0, t0, t0, t0, t0]);
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    [true, true, true, false, false],
  );
  assert.deepEqual(
    decisions.map((d) => d.remaining),
    [2, 1, 0, 0, 0],
  );
  assert.deepEqual(
    decisions.map((d) => d.retryAfterMs),
    [0, 0, 0, 1000, 1000],
    'the next token is one emission interval away',
  );
  assert.deepEqual(
    decisions.map((d) => d.resetMs),
    [1000, 2000, 3000, 3000, 3000],
    'full again after burst × interval',
  );
});

test('tokens come back at the sustained rate, one per emission interval, up to the burst', () => {
  const limit = { emissionMs: 1000, burst: 3 };
  // Drain at t0, then: 999 ms is not enough, 1000 ms gives one token, 10 s later the bucket holds 3 again (not 10).
  const decisions = run(limit, [
    t0,
    t0,
    t0,
    t0 + 999,
    t0 + 1000,
    t0 + 1000,
    t0 + 11_000,
    t0 + 11_000,
    t0 + 11_000,
    t0 + 11_000,
  ]);
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    [true, true, true, false, true, false, true, true, true, false],
  );
  assert.equal(decisions[3]?.retryAfterMs, 1);
});

test('a client at exactly the sustained rate is never refused; one slightly faster is, once its burst is spent', () => {
  const limit = { emissionMs: 500, burst: 4 };
  const steady = run(
    limit,
    Array.from({ length: 200 }, (_, i) => t0 + i * 500),
  );
  assert.ok(steady.every((d) => d.allowed));
  // Every 400 ms against one token per 500 ms: the burst absorbs 100 ms of debt per request, 4 tokens' worth (2000 ms) after ~20 requests.
  const fast = run(
    limit,
    Array.from({ length: 40 }, (_, i) => t0 + i * 400),
  );
  const firstRefusal = fast.findIndex((d) => !d.allowed);
  assert.ok(firstRefusal >= 15 && firstRefusal <= 20, `first refusal at request ${firstRefusal}`);
  // Refusals cost nothing: over the whole run exactly burst + elapsed / interval requests pass.
  const allowed = fast.filter((d) => d.allowed).length;
  assert.equal(allowed, 4 + Math.floor((39 * 400) / 500));
});

test('burst and rate are independent: a large burst with a slow rate, and a burst of one with a fast rate', () => {
  assert.equal(
    run(
      { emissionMs: 60_000, burst: 50 },
      Array.from({ length: 60 }, () => t0),
    ).filter((d) => d.allowed).length,
    50,
  );
  const single = run({ emissionMs: 100, burst: 1 }, [t0, t0 + 50, t0 + 100, t0 + 150, t0 + 200]);
  assert.deepEqual(
    single.map((d) => d.allowed),
    [true, false, true, false, true],
  );
});

test('fractional intervals (7 per minute) still give the exact burst and refill, with no float drift', () => {
  const limit = bucketLimitOf({ rate: 7, periodMs: 60_000, burst: 7 });
  const decisions = run(limit, [
    ...Array.from({ length: 8 }, () => t0),
    t0 + 60_000,
    ...Array.from({ length: 7 }, () => t0 + 60_000),
  ]);
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    [true, true, true, true, true, true, true, false, true, true, true, true, true, true, true, false],
  );
  assert.equal(decisions[6]?.remaining, 0);
  assert.equal(decisions[0]?.remaining, 6);
});

test('a clock that steps backwards never grants extra tokens', () => {
  const limit = { emissionMs: 1000, burst: 2 };
  const decisions = run(limit, [t0, t0, t0 - 5000, t0 - 5000]);
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    [true, true, false, false],
  );
});

test('memory store: idle buckets are dropped as decisions go on, and the bucket count is capped', async () => {
  let now = t0;
  const store = createMemoryRateLimitStore({ now: () => now, maxBuckets: 50 });
  const limit = { emissionMs: 1000, burst: 2 };
  for (let i = 0; i < 40; i += 1) await store.take(`client-${i}`, limit);
  // A function, not the property: assert.equal would narrow the property's type to its literal.
  const size = (): number => store.size;
  assert.equal(size(), 40);
  // Two seconds later every one of those buckets is full again: equal to no entry. Ongoing traffic sweeps them out.
  now += 2000;
  for (let i = 0; i < 40; i += 1) await store.take('busy', limit);
  assert.equal(size(), 1, 'only the busy bucket is left');
  for (let i = 0; i < 500; i += 1) await store.take(`spray-${i}`, limit);
  assert.ok(size() <= 50, `bounded: ${size()}`);
  // A dropped bucket counts as full: memory is bounded at the cost of forgetting, never of refusing wrongly.
  assert.equal((await store.take('spray-0', limit)).allowed, true);
});

test('memory store: a refusal leaves the bucket as it was', async () => {
  let now = t0;
  const store = createMemoryRateLimitStore({ now: () => now });
  const limit = { emissionMs: 1000, burst: 1 };
  assert.equal((await store.take('k', limit)).allowed, true);
  for (let i = 0; i < 5; i += 1) assert.equal((await store.take('k', limit)).allowed, false);
  now += 1000;
  assert.equal((await store.take('k', limit)).allowed, true, 'five refusals did not push the next token back');
});

test('settings: defaults, overrides per policy, off per policy and off entirely', () => {
  assert.deepEqual(parseRateLimitPolicies(''), defaultRateLimitPolicies);
  const tuned = parseRateLimitPolicies('read=300/1m:60, auth=5/30s:2,write=off,default=10/1h');
  assert.deepEqual(tuned.read, { rate: 300, periodMs: 60_000, burst: 60 });
  assert.deepEqual(tuned.auth, { rate: 5, periodMs: 30_000, burst: 2 });
  assert.equal(tuned.write, null);
  assert.deepEqual(
    tuned.default,
    { rate: 10, periodMs: 3_600_000, burst: 10 },
    'without :BURST the whole rate may come at once',
  );
  assert.deepEqual(tuned.ip, defaultRateLimitPolicies.ip, 'the rest keep their defaults');
  assert.ok(Object.values(parseRateLimitPolicies('off')).every((policy) => policy === null));
  assert.ok(
    defaultRateLimitPolicies.auth.rate < defaultRateLimitPolicies.write.rate &&
      defaultRateLimitPolicies.write.rate < defaultRateLimitPolicies.read.rate,
  );
});

test('settings: malformed specs are refused without echoing them', () => {
  for (const raw of [
    'reed=1/1m',
    'read=1/1m,read=2/1m',
    'read=',
    'read=0/1m',
    'read=5/0s',
    'read=5/2d',
    'read=5/1m:0',
    'read=5/1m:x',
    'read=5/1m:2:3',
    'read=99999999/1s',
    'read=5/1m=3',
    'read=5',
  ]) {
    assert.throws(
      () => parseRateLimitPolicies(raw),
      (error: unknown) => {
        assert.ok(error instanceof RateLimitSettingError, raw);
        assert.ok(!error.message.includes(raw), `${raw} not echoed`);
        return true;
      },
    );
  }
});

test('config: the two settings load, and a bad value is a ConfigError naming the setting, never echoing the value', () => {
  const config = loadConfig({ CADUCEUS_RATE_LIMIT: 'auth=3/1m', CADUCEUS_RATE_LIMIT_REDIS_FAILURE: 'closed' }, '/a');
  assert.deepEqual(config.rateLimit.policies.auth, { rate: 3, periodMs: 60_000, burst: 3 });
  assert.equal(config.rateLimit.redisFailure, 'closed');
  assert.equal(loadConfig({}, '/a').rateLimit.redisFailure, 'local');
  assert.ok(Object.isFrozen(config.rateLimit.policies.auth));
  for (const env of [
    { CADUCEUS_RATE_LIMIT: 'read=9/1m:secretish' },
    { CADUCEUS_RATE_LIMIT: 'secretish=1/1m' },
    { CADUCEUS_RATE_LIMIT_REDIS_FAILURE: 'secretish' },
  ]) {
    assert.throws(
      () => loadConfig(env, '/a'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(error.message.includes(Object.keys(env)[0]!), error.message);
        assert.ok(!error.message.includes('secretish'), error.message);
        return true;
      },
    );
  }
});

test('headers: a bucket is stated as a quota policy (q = burst, w = seconds to refill it) and its state', () => {
  assert.equal(policyHeaderItem('read', { rate: 600, periodMs: 60_000, burst: 120 }), '"read";q=120;w=12');
  assert.equal(policyHeaderItem('auth', { rate: 7, periodMs: 60_000, burst: 3 }), '"auth";q=3;w=26', 'w rounds up');
  assert.equal(
    stateHeaderItem('read', { allowed: true, remaining: 41, resetMs: 2001, retryAfterMs: 0 }),
    '"read";r=41;t=3',
  );
  assert.equal(retryAfterSeconds({ allowed: false, remaining: 0, resetMs: 9000, retryAfterMs: 1 }), 1, 'never 0');
  assert.equal(retryAfterSeconds({ allowed: false, remaining: 0, resetMs: 9000, retryAfterMs: 20_000 }), 20);
});
