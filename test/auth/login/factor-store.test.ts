import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { hashRecoveryCode, resetFactors, type MfaFactorStore, type StoredFactor } from '../../../src/auth/mfa/index.js';
import { openDatabase } from '../../../src/storage/open.js';
import { openTestDatabase, postgresSkip } from '../../helpers/database.js';

function factor(userId: string, overrides: Partial<StoredFactor> = {}): StoredFactor {
  return {
    id: randomUUID(),
    userId,
    kind: 'totp',
    credentialId: null,
    sealed: new Uint8Array([1, 2, 3]),
    signCount: 0,
    createdAt: new Date().toISOString(),
    lastUsedAt: null,
    ...overrides,
  };
}

/** The MfaFactorStore contract, run against each adapter. */
function contract(kind: 'sqlite' | 'postgres', skip: string | false): void {
  test(`${kind} factor store: insert, list, find by credential, duplicates refused`, { skip }, async (t) => {
    const shared = await openTestDatabase(kind);
    t.after(() => shared.cleanup());
    const store: MfaFactorStore = shared.db.mfaFactors;
    const user = randomUUID();
    const totp = factor(user);
    const passkey = factor(user, {
      kind: 'webauthn',
      credentialId: 'cred-A',
      signCount: 5,
      createdAt: new Date(Date.now() + 1000).toISOString(),
    });
    assert.equal(await store.insert(totp), 'created');
    assert.equal(await store.insert(passkey), 'created');
    assert.equal(await store.insert(totp), 'duplicate', 'same id');
    assert.equal(
      await store.insert(factor(randomUUID(), { kind: 'webauthn', credentialId: 'cred-A' })),
      'duplicate',
      'same credential id',
    );
    const listed = await store.listByUser(user);
    assert.deepEqual(
      listed.map((f) => f.id),
      [totp.id, passkey.id],
    );
    assert.deepEqual([...listed[0]!.sealed], [1, 2, 3]);
    assert.equal((await store.findByCredentialId('cred-A'))?.id, passkey.id);
    assert.equal(await store.findByCredentialId('cred-B'), undefined);
    assert.deepEqual(await store.listByUser(randomUUID()), []);
  });

  test(`${kind} factor store: sign counter advances by compare-and-set only`, { skip }, async (t) => {
    const shared = await openTestDatabase(kind);
    t.after(() => shared.cleanup());
    const store = shared.db.mfaFactors;
    const passkey = factor(randomUUID(), { kind: 'webauthn', credentialId: 'cred-C', signCount: 5 });
    await store.insert(passkey);
    const at = new Date().toISOString();
    assert.equal(await store.recordUse(passkey.id, 5, 6, at), true);
    assert.equal(await store.recordUse(passkey.id, 5, 7, at), false, 'a stale expected count loses');
    const stored = await store.findByCredentialId('cred-C');
    assert.equal(stored?.signCount, 6);
    assert.equal(stored.lastUsedAt, at);
  });

  test(
    `${kind} factor store: recovery codes are consumed once, replaced as a set, and reset with the factors`,
    { skip },
    async (t) => {
      const shared = await openTestDatabase(kind);
      t.after(() => shared.cleanup());
      const store = shared.db.mfaFactors;
      const user = randomUUID();
      const other = randomUUID();
      await store.replaceRecoveryCodes(user, ['a', 'b', 'c'].map(hashRecoveryCode), new Date().toISOString());
      await store.replaceRecoveryCodes(other, ['a'].map(hashRecoveryCode), new Date().toISOString());
      assert.equal(await store.countRecoveryCodes(user), 3);
      // Two processes racing for one code: exactly one wins.
      const second = await openDatabase(shared.url);
      t.after(() => second.close());
      const results = await Promise.all([
        store.consumeRecoveryCode(user, hashRecoveryCode('a')),
        second.mfaFactors.consumeRecoveryCode(user, hashRecoveryCode('a')),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal(await store.consumeRecoveryCode(user, hashRecoveryCode('zzz')), false);
      assert.equal(await store.countRecoveryCodes(user), 2);
      await store.replaceRecoveryCodes(user, ['d'].map(hashRecoveryCode), new Date().toISOString());
      assert.equal(await store.consumeRecoveryCode(user, hashRecoveryCode('b')), false, 'the old set is gone');
      await store.insert(factor(user));
      await store.insert(factor(user, { kind: 'webauthn', credentialId: 'cred-D' }));
      assert.deepEqual(await resetFactors(store, user), { factors: 2, recoveryCodes: 1 });
      assert.deepEqual(await store.listByUser(user), []);
      assert.equal(await store.countRecoveryCodes(user), 0);
      assert.equal(await store.countRecoveryCodes(other), 1, 'another user keeps theirs');
      assert.deepEqual(await resetFactors(store, user), { factors: 0, recoveryCodes: 0 });
    },
  );
}

contract('sqlite', false);
contract('postgres', await postgresSkip());
