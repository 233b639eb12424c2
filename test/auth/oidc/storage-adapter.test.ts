/**
 * The oidc-provider adapter over the state port: ids are stored hashed and
 * bearer values dropped from payloads; a lost compare-and-set is refused and
 * reported with its grant; a replayed client-assertion jti is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OidcStorageAdapter, storageKey, type StorageAdapterHooks } from '../../../src/auth/oidc/storage-adapter.js';
import { openTestDatabase } from '../../helpers/database.js';

class Replay extends Error {}

function hooks(races: (string | null)[]): StorageAdapterHooks {
  return {
    onConsumeRace: (model, grantId) => {
      races.push(`${model}:${grantId ?? ''}`);
      return Promise.resolve();
    },
    replayError: (kind) => new Replay(kind),
  };
}

test('refresh tokens: hashed key, no value in the payload, one consume wins', async (t) => {
  const opened = await openTestDatabase('sqlite');
  t.after(() => opened.cleanup());
  const { db } = opened;
  const races: (string | null)[] = [];
  const adapter = new OidcStorageAdapter('RefreshToken', db.oidc, hooks(races));
  const value = 'rt-value-0123456789abcdefghij';
  await adapter.upsert(
    value,
    { jti: value, kind: 'RefreshToken', grantId: 'g-1', accountId: 'u-1', clientId: 'c-1', iat: 1, exp: 2 },
    60,
  );
  const raw = await db.oidc.find('RefreshToken', storageKey(value));
  assert.ok(raw !== undefined && !raw.payload.includes(value));
  assert.equal((await adapter.find(value))?.jti, value);
  assert.equal(await adapter.find('another-value'), undefined);
  const results = await Promise.allSettled([adapter.consume(value), adapter.consume(value), adapter.consume(value)]);
  assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
  assert.ok(
    results.filter((result) => result.status === 'rejected').every((result) => result.reason instanceof Replay),
  );
  assert.deepEqual(races, ['RefreshToken:g-1', 'RefreshToken:g-1']);
  assert.equal(typeof (await adapter.find(value))?.consumed, 'number');
  await adapter.revokeByGrantId('g-1');
  assert.equal(await adapter.find(value), undefined);
});

test('replay detection: a second client-assertion jti is refused', async (t) => {
  const opened = await openTestDatabase('sqlite');
  t.after(() => opened.cleanup());
  const { db } = opened;
  const adapter = new OidcStorageAdapter('ReplayDetection', db.oidc, hooks([]));
  await adapter.upsert('jti-hash', { jti: 'jti-hash', iss: 'c-1' }, 60);
  await assert.rejects(adapter.upsert('jti-hash', { jti: 'jti-hash', iss: 'c-1' }, 60), Replay);
});

test('sessions keep their id and are found by uid', async (t) => {
  const opened = await openTestDatabase('sqlite');
  t.after(() => opened.cleanup());
  const { db } = opened;
  const adapter = new OidcStorageAdapter('Session', db.oidc, hooks([]));
  await adapter.upsert('session-id', { jti: 'session-id', uid: 'uid-1', accountId: 'u-1' }, 60);
  assert.equal((await adapter.findByUid('uid-1'))?.jti, 'session-id');
  await adapter.destroy('session-id');
  assert.equal(await adapter.findByUid('uid-1'), undefined);
});
