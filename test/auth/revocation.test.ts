import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRevocationStore } from '../../src/auth/revocation.js';
import type { KeyValueStore } from '../../src/storage/ports.js';
import { openTestDatabase, postgresSkip } from '../helpers/database.js';

const hour = 3600 * 1000;
const start = Date.UTC(2030, 0, 1, 12, 0, 0);

/** The real adapter, with every call counted and every set's ttl recorded. */
interface CountingStore extends KeyValueStore {
  readonly calls: Record<string, number>;
  readonly ttls: Map<string, number>;
}

function counting(kv: KeyValueStore): CountingStore {
  const calls: Record<string, number> = {};
  const ttls = new Map<string, number>();
  const count = (name: string): void => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  return {
    calls,
    ttls,
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
      ttls.set(key, ttlMs);
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
  };
}

async function openStore(t: TestContext, kind: 'sqlite' | 'postgres'): Promise<CountingStore> {
  const database = await openTestDatabase(kind);
  t.after(() => database.cleanup());
  return counting(database.db.kv);
}

function principal(
  overrides: Partial<{ tokenId: string; grantId: string | null; subject: string; issuedAt: number }> = {},
) {
  return {
    tokenId: 'jti-1',
    grantId: 'grant-1',
    subject: 'user-1',
    issuedAt: Math.floor(start / 1000) - 60,
    ...overrides,
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? await postgresSkip() : false;

  test(
    `${kind}: a token revocation refuses that jti only, and lasts until expiry plus retention`,
    { skip },
    async (t) => {
      const kv = await openStore(t, kind);
      let clock = start;
      const store = createRevocationStore(kv, { retentionMs: 2 * hour, now: () => clock });
      const expiresAt = Math.floor(start / 1000) + 600;
      await store.revokeToken('jti-1', expiresAt);
      assert.equal(await kv.get('revoked:jti:jti-1'), '1');
      assert.equal(kv.ttls.get('revoked:jti:jti-1'), 600_000 + 2 * hour);
      assert.equal(await store.isRevoked(principal()), true);
      assert.equal(await store.isRevoked(principal({ tokenId: 'jti-2' })), false);
      clock = start + hour;
      await store.revokeToken('jti-late', expiresAt);
      assert.equal(kv.ttls.get('revoked:jti:jti-late'), 2 * hour, 'an already expired token keeps the margin only');
    },
  );

  test(`${kind}: a grant revocation refuses every token of the grant`, { skip }, async (t) => {
    const kv = await openStore(t, kind);
    const store = createRevocationStore(kv, { retentionMs: 2 * hour, now: () => start });
    await store.revokeGrant('grant-1');
    assert.equal(kv.ttls.get('revoked:grant:grant-1'), 2 * hour);
    assert.equal(await store.isRevoked(principal({ tokenId: 'a' })), true);
    assert.equal(await store.isRevoked(principal({ tokenId: 'b' })), true);
    assert.equal(await store.isRevoked(principal({ grantId: 'grant-2' })), false);
    assert.equal(await store.isRevoked(principal({ grantId: null })), false);
  });

  test(`${kind}: a subject revocation refuses tokens issued at or before it, not after`, { skip }, async (t) => {
    const kv = await openStore(t, kind);
    let clock = start + 400;
    const store = createRevocationStore(kv, { retentionMs: 2 * hour, now: () => clock });
    await store.revokeSubject('user-1');
    const revokedAt = Math.floor(start / 1000);
    assert.equal(await kv.get('revoked:sub:user-1'), String(revokedAt));
    assert.equal(await store.isRevoked(principal({ issuedAt: revokedAt - 100 })), true);
    assert.equal(
      await store.isRevoked(principal({ issuedAt: revokedAt })),
      true,
      'the same second is covered (fails closed)',
    );
    assert.equal(await store.isRevoked(principal({ issuedAt: revokedAt + 1 })), false);
    assert.equal(await store.isRevoked(principal({ subject: 'user-2', issuedAt: revokedAt - 100 })), false);
    clock = start + 60_000;
    await store.revokeSubject('user-1');
    assert.equal(
      await store.isRevoked(principal({ issuedAt: revokedAt + 1 })),
      true,
      'a second revocation moves the instant',
    );
  });

  test(`${kind}: isRevoked makes exactly one getMany round trip`, { skip }, async (t) => {
    const kv = await openStore(t, kind);
    const store = createRevocationStore(kv, { retentionMs: hour, now: () => start });
    await store.revokeSubject('user-9');
    const before = { ...kv.calls };
    await store.isRevoked(principal());
    await store.isRevoked(principal({ grantId: null }));
    assert.equal((kv.calls.getMany ?? 0) - (before.getMany ?? 0), 2);
    assert.equal(kv.calls.get ?? 0, before.get ?? 0);
  });

  test(`${kind}: an unreadable subject entry fails closed`, { skip }, async (t) => {
    const kv = await openStore(t, kind);
    const store = createRevocationStore(kv, { retentionMs: hour, now: () => start });
    await kv.set('revoked:sub:user-1', 'not-a-number', hour);
    assert.equal(await store.isRevoked(principal()), true);
  });
}

test('refuses empty ids and a non-positive retention', async (t) => {
  const kv = await openStore(t, 'sqlite');
  assert.throws(() => createRevocationStore(kv, { retentionMs: 0 }), RangeError);
  assert.throws(() => createRevocationStore(kv, { retentionMs: 1.5 }), RangeError);
  const store = createRevocationStore(kv, { retentionMs: hour });
  await assert.rejects(store.revokeToken('', 1), RangeError);
  await assert.rejects(store.revokeGrant(''), RangeError);
  await assert.rejects(store.revokeSubject(''), RangeError);
  assert.equal(kv.calls.set ?? 0, 0);
});
