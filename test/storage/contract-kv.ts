import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { unique, withDatabase, type ContractContext } from './fixtures.js';

/** Long enough never to expire during a test run; short TTLs in these tests are 1 ms. */
const longTtl = 600_000;

/**
 * Both adapters compute expiry from Date.now() in this process (PostgreSQL is
 * sent the instant as a parameter), so time is a fake Date moved by hand: no
 * sleeping, and no margin for a loaded machine to overrun.
 */
function fakeClock(t: TestContext, aheadMs = 0): (ms: number) => void {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + aheadMs });
  return (ms) => {
    t.mock.timers.tick(ms);
  };
}

/** Registers the KeyValueStore tests. */
export function registerKvContract(ctx: ContractContext): void {
  test('kv: set, get, overwrite, delete', () =>
    withDatabase(ctx, async (db) => {
      const key = unique('k');
      assert.equal(await db.kv.get(key), undefined);
      await db.kv.set(key, 'one', longTtl);
      assert.equal(await db.kv.get(key), 'one');
      await db.kv.set(key, 'two', longTtl);
      assert.equal(await db.kv.get(key), 'two');
      await db.kv.delete(key);
      assert.equal(await db.kv.get(key), undefined);
      await db.kv.delete(key);
    }));

  test('kv: expired rows are invisible to get, getMany and take, and free for setIfAbsent', (t) =>
    withDatabase(ctx, async (db) => {
      const elapse = fakeClock(t);
      const key = unique('k');
      await db.kv.set(key, 'old', 1);
      assert.equal(await db.kv.get(key), 'old', 'live within its TTL');
      elapse(1);
      assert.equal(await db.kv.get(key), undefined);
      assert.equal((await db.kv.getMany([key])).size, 0);
      assert.equal(await db.kv.take(key), undefined);
      assert.equal(await db.kv.setIfAbsent(key, 'new', longTtl), true);
      assert.equal(await db.kv.get(key), 'new');
    }));

  test('kv: getMany returns present keys only', (t) =>
    withDatabase(ctx, async (db) => {
      const elapse = fakeClock(t);
      const [a, b, gone, expired] = [unique('a'), unique('b'), unique('g'), unique('e')];
      await db.kv.set(a, 'A', longTtl);
      await db.kv.set(b, 'B', longTtl);
      await db.kv.set(expired, 'E', 1);
      elapse(1);
      const found = await db.kv.getMany([a, b, gone, expired, a]);
      assert.deepEqual([...found.entries()].sort(), [
        [a, 'A'],
        [b, 'B'],
      ]);
      assert.equal((await db.kv.getMany([])).size, 0);
    }));

  test('kv: setIfAbsent sets once and never overwrites a live value', () =>
    withDatabase(ctx, async (db) => {
      const key = unique('k');
      assert.equal(await db.kv.setIfAbsent(key, 'first', longTtl + 0.5), true);
      assert.equal(await db.kv.setIfAbsent(key, 'second', longTtl), false);
      assert.equal(await db.kv.get(key), 'first');
    }));

  test('kv: 20 concurrent setIfAbsent calls over two databases: exactly one wins', async () => {
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const key = unique('race');
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).kv.setIfAbsent(key, `v${String(i)}`, longTtl)),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await a.kv.get(key), `v${String(wins.indexOf(true))}`);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("kv: getMany sees every write at once: another connection's, its own, and expiry of what it read before", async (t) => {
    const elapse = fakeClock(t);
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const key = unique('seen');
      assert.equal((await a.kv.getMany([key])).size, 0);
      await b.kv.set(key, 'revoked', longTtl);
      assert.equal((await a.kv.getMany([key])).get(key), 'revoked', "another connection's write");
      await b.kv.delete(key);
      assert.equal((await a.kv.getMany([key])).size, 0, "another connection's delete");
      await a.kv.set(key, 'own', 50);
      assert.equal((await a.kv.getMany([key])).get(key), 'own', 'its own write');
      elapse(49);
      assert.equal((await a.kv.getMany([key])).get(key), 'own', 'still live 1 ms before its TTL');
      elapse(1);
      assert.equal((await a.kv.getMany([key])).size, 0, 'expired since it was last read');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('kv: increment counts from 1, restarts after expiry, and treats a non-number as absent', (t) =>
    withDatabase(ctx, async (db) => {
      const elapse = fakeClock(t);
      const key = unique('count');
      assert.equal(await db.kv.increment(key, longTtl), 1, 'absent');
      assert.equal(await db.kv.increment(key, longTtl), 2);
      assert.equal(await db.kv.increment(key, longTtl), 3);
      assert.equal(await db.kv.get(key), '3', 'stored as its decimal text');
      await db.kv.set(key, 'old', 1);
      elapse(1);
      assert.equal(await db.kv.increment(key, 50), 1, 'expired: restarts at 1');
      assert.equal(await db.kv.increment(key, longTtl), 2, 'within the TTL it counts on');
      for (const odd of ['', 'abc', '12abc', '-4', '1.5', '9999999999999999']) {
        const other = unique('odd');
        await db.kv.set(other, odd, longTtl);
        assert.equal(await db.kv.increment(other, longTtl), 1, `value ${JSON.stringify(odd)}`);
      }
      await assert.rejects(db.kv.increment(unique('bad'), Number.NaN), { name: 'StorageError' });
    }));

  test('kv: increment restarts the TTL at each call', (t) =>
    withDatabase(ctx, async (db) => {
      const elapse = fakeClock(t);
      const key = unique('slide');
      assert.equal(await db.kv.increment(key, 1000), 1);
      elapse(600);
      assert.equal(await db.kv.increment(key, 1000), 2);
      elapse(600); // past the first call's TTL, within the second's
      assert.equal(await db.kv.get(key), '2');
      elapse(399);
      assert.equal(await db.kv.get(key), '2', 'live 1 ms before a TTL after the last call');
      elapse(1);
      assert.equal(await db.kv.get(key), undefined, 'expired a TTL after the last call');
    }));

  test('kv: 20 concurrent increments over two databases: each of 1..20 exactly once', async () => {
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const key = unique('race');
      const counts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).kv.increment(key, longTtl)),
      );
      assert.deepEqual(
        [...counts].sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.equal(await b.kv.get(key), '20');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('kv: take returns the value once', () =>
    withDatabase(ctx, async (db) => {
      const key = unique('k');
      await db.kv.set(key, 'code', longTtl);
      assert.equal(await db.kv.take(key), 'code');
      assert.equal(await db.kv.take(key), undefined);
      assert.equal(await db.kv.get(key), undefined);
      assert.equal(await db.kv.take(unique('never')), undefined);
    }));

  test('kv: 20 concurrent takes over two databases: exactly one gets the value', async () => {
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const key = unique('race');
      await a.kv.set(key, 'once', longTtl);
      const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? b : a).kv.take(key)));
      assert.deepEqual(
        taken.filter((v) => v !== undefined),
        ['once'],
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('kv: purgeExpired removes expired rows only and counts them', (t) =>
    withDatabase(ctx, async (db) => {
      // An hour ahead, every row the other tests left (fake clocks included) has expired: the first purge
      // clears them all, so the count below is exact.
      const elapse = fakeClock(t, 3_600_000);
      await db.kv.purgeExpired();
      const live = unique('live');
      await db.kv.set(live, 'stay', longTtl);
      for (let i = 0; i < 3; i++) await db.kv.set(unique('dead'), 'go', 1);
      elapse(1);
      assert.equal(await db.kv.purgeExpired(), 3);
      assert.equal(await db.kv.purgeExpired(), 0);
      assert.equal(await db.kv.get(live), 'stay');
    }));
}
