/**
 * What a failed login costs the key-value store (src/auth/users/lockout.ts):
 * one atomic increment per scope and one read of the account's generation;
 * a lock adds one write of its end. Counted on the real SQLite and
 * PostgreSQL adapters; the counts and locks themselves are the directory
 * contract's (directory-contract.ts).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLoginLockout } from '../../../src/auth/users/lockout.js';
import type { KeyValueStore } from '../../../src/storage/ports.js';
import { openTestDatabase, postgresSkip } from '../../helpers/database.js';

const settings = { accountFailures: 3, ipFailures: 100, baseSeconds: 60, maxSeconds: 600, windowSeconds: 900 };

/** The real adapter, every call counted by name. */
function counting(kv: KeyValueStore): { kv: KeyValueStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (name: string): void => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  return {
    calls,
    kv: {
      get: (key) => {
        count('get');
        return kv.get(key);
      },
      getMany: (keys) => {
        count('getMany');
        return kv.getMany(keys);
      },
      set: (key, value, ttlMs) => {
        count('set');
        return kv.set(key, value, ttlMs);
      },
      setIfAbsent: (key, value, ttlMs) => {
        count('setIfAbsent');
        return kv.setIfAbsent(key, value, ttlMs);
      },
      increment: (key, ttlMs) => {
        count('increment');
        return kv.increment(key, ttlMs);
      },
      take: (key) => {
        count('take');
        return kv.take(key);
      },
      delete: (key) => {
        count('delete');
        return kv.delete(key);
      },
      purgeExpired: () => {
        count('purgeExpired');
        return kv.purgeExpired();
      },
    },
  };
}

async function open(t: TestContext, kind: 'sqlite' | 'postgres') {
  const database = await openTestDatabase(kind);
  t.after(() => database.cleanup());
  return counting(database.db.kv);
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? await postgresSkip() : false;

  test(
    `${kind}: a failed login is one increment per scope; a lock adds one write; a success resets in one write`,
    { skip },
    async (t) => {
      const { kv, calls } = await open(t, kind);
      const lockout = createLoginLockout(kv, { settings });
      const username = `someone-${randomUUID()}`;
      const ip = `fd00::${randomUUID().slice(0, 4)}`;
      for (let i = 1; i <= 2; i += 1) {
        for (const name of Object.keys(calls)) Reflect.deleteProperty(calls, name);
        assert.deepEqual(await lockout.recordFailure(username, ip), { locked: false });
        assert.deepEqual(calls, { get: 1, increment: 2 }, `failure ${String(i)}`);
      }
      for (const name of Object.keys(calls)) Reflect.deleteProperty(calls, name);
      const locked = await lockout.recordFailure(username, ip);
      assert.deepEqual(locked, { locked: true, scope: 'account', retryAfterSeconds: 60 });
      assert.deepEqual(calls, { get: 1, increment: 2, set: 1 }, 'the third failure locks: one more write');
      assert.equal((await lockout.check(username, ip)).locked, true);

      for (const name of Object.keys(calls)) Reflect.deleteProperty(calls, name);
      await lockout.recordSuccess(username);
      assert.deepEqual(calls, { set: 1 });
      // The count restarted: two more failures do not lock again (the third would).
      const other = `fd00::${randomUUID().slice(0, 4)}`;
      assert.deepEqual(await lockout.recordFailure(username, other), { locked: false });
      assert.deepEqual(await lockout.recordFailure(username, other), { locked: false });
    },
  );

  test(`${kind}: a count kept by the slot-claiming lockout (its \`:0:n\` key) carries over`, { skip }, async (t) => {
    const { kv } = await open(t, kind);
    const lockout = createLoginLockout(kv, { settings });
    const ip = `fd00::${randomUUID().slice(0, 4)}`;
    // Where the earlier lockout wrote an address's count: login:ip:<ip>:<generation 0>:n.
    await kv.set(`login:ip:${ip}:0:n`, '99', 60_000);
    const state = await lockout.recordFailure(`someone-${randomUUID()}`, ip);
    assert.deepEqual(
      state,
      { locked: true, scope: 'ip', retryAfterSeconds: 60 },
      'the 100th failure of the address locks it',
    );
  });
}
