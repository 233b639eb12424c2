import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RateLimitStore } from '../../src/gateway/rate-limit/store.js';

const hour = 3_600_000;

/** A fresh, isolated store and the way time passes on its own clock. */
export interface StoreUnderTest {
  readonly store: RateLimitStore;
  /**
   * Lets at least `ms` pass on the store's clock: a fake clock moved at once
   * (in-process), or the Redis server's clock waited for (its script reads TIME).
   */
  readonly elapse: (ms: number) => Promise<void>;
}

/**
 * The contract every RateLimitStore adapter passes (STYLE.md #2), on the
 * store's own clock (Redis: the server's). `open` gives a fresh, isolated
 * store per test. Waits are only ever "at least this long", so a slow
 * machine cannot make a test fail: more time only refills more tokens, up to the burst.
 */
export function rateLimitStoreContract(
  name: string,
  open: () => Promise<StoreUnderTest>,
  skip: string | false = false,
): void {
  test(
    `${name}: a rested bucket allows exactly its burst, counting down, then refuses with the wait for the next token`,
    { skip },
    async () => {
      const { store } = await open();
      const limit = { emissionMs: hour / 10, burst: 4 };
      const decisions = [];
      for (let i = 0; i < 6; i += 1) decisions.push(await store.take('a', limit));
      assert.deepEqual(
        decisions.map((d) => d.allowed),
        [true, true, true, true, false, false],
      );
      assert.deepEqual(
        decisions.map((d) => d.remaining),
        [3, 2, 1, 0, 0, 0],
      );
      const refused = decisions[4]!;
      assert.equal(refused.allowed, false);
      // Within the test's own runtime of one interval (6 min), and no more than it.
      assert.ok(
        refused.retryAfterMs > limit.emissionMs - 60_000 && refused.retryAfterMs <= limit.emissionMs,
        `retry after ${refused.retryAfterMs}`,
      );
      assert.ok(
        refused.resetMs > 4 * limit.emissionMs - 60_000 && refused.resetMs <= 4 * limit.emissionMs,
        `reset ${refused.resetMs}`,
      );
      assert.ok(decisions[0]!.resetMs <= limit.emissionMs && decisions[0]!.retryAfterMs === 0);
    },
  );

  test(`${name}: buckets are independent per key`, { skip }, async () => {
    const { store } = await open();
    const limit = { emissionMs: hour, burst: 1 };
    assert.equal((await store.take('x', limit)).allowed, true);
    assert.equal((await store.take('x', limit)).allowed, false);
    assert.equal((await store.take('y', limit)).allowed, true);
    assert.equal((await store.take('x:y', limit)).allowed, true);
  });

  test(`${name}: concurrent decisions are atomic: exactly the burst is allowed`, { skip }, async () => {
    const { store } = await open();
    const limit = { emissionMs: hour, burst: 10 };
    const decisions = await Promise.all(Array.from({ length: 50 }, () => store.take('c', limit)));
    assert.equal(decisions.filter((d) => d.allowed).length, 10);
    assert.deepEqual(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });

  test(`${name}: tokens come back at the rate, never beyond the burst`, { skip }, async () => {
    const { store, elapse } = await open();
    const limit = { emissionMs: 100, burst: 2 };
    while ((await store.take('r', limit)).allowed) {
      /* drain, however long that takes */
    }
    await elapse(250);
    const after = [];
    for (let i = 0; i < 4; i += 1) after.push(await store.take('r', limit));
    const allowed = after.filter((d) => d.allowed).length;
    assert.ok(allowed >= 1 && allowed <= 3, `allowed ${allowed} after a rest`);
    assert.equal(after[3]!.allowed, false, 'not four at once: the burst caps the refill');
  });

  test(`${name}: refusals cost nothing`, { skip }, async () => {
    const { store } = await open();
    const limit = { emissionMs: 200, burst: 1 };
    assert.equal((await store.take('f', limit)).allowed, true);
    const first = await store.take('f', limit);
    for (let i = 0; i < 20; i += 1) await store.take('f', limit);
    const later = await store.take('f', limit);
    assert.equal(later.allowed, false);
    assert.ok(later.retryAfterMs <= first.retryAfterMs, 'twenty refusals did not push the next token back');
  });
}
