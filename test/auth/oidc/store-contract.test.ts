/**
 * Contract of the authorization-server storage ports (src/storage/oidc-ports.ts),
 * run against SQLite and PostgreSQL. The PostgreSQL run opens a second pool on
 * the same schema, as a second server process would, for the compare-and-set.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openDatabase } from '../../../src/storage/open.js';
import type { OidcStateWrite } from '../../../src/storage/oidc-ports.js';
import type { Database } from '../../../src/storage/ports.js';
import { openTestDatabase, postgresSkip } from '../../helpers/database.js';

function write(overrides: Partial<OidcStateWrite> = {}): OidcStateWrite {
  return {
    model: 'RefreshToken',
    key: 'k1',
    payload: '{"accountId":"u1"}',
    grantId: 'g1',
    accountId: 'u1',
    clientId: 'c1',
    uidKey: null,
    expiresAt: Date.now() + 60_000,
    ...overrides,
  };
}

function contract(kind: 'sqlite' | 'postgres', skip: () => Promise<string | false>): void {
  describe(`OIDC state and client stores on ${kind}`, async () => {
    const reason = await skip();
    const open = async (t: { after(fn: () => Promise<void>): void }): Promise<{ db: Database; second: Database }> => {
      const opened = await openTestDatabase(kind);
      const second = await openDatabase(opened.url);
      t.after(async () => {
        await second.close();
        await opened.cleanup();
      });
      return { db: opened.db, second };
    };

    test('upsert, find, findByUid, destroy and expiry', { skip: reason }, async (t) => {
      const { db } = await open(t);
      await db.oidc.upsert(write({ model: 'Session', key: 's1', uidKey: 'uid1', payload: '{"uid":"x"}' }));
      assert.deepEqual(await db.oidc.find('Session', 's1'), { payload: '{"uid":"x"}', consumedAt: null });
      assert.equal((await db.oidc.findByUid('Session', 'uid1'))?.payload, '{"uid":"x"}');
      assert.equal(await db.oidc.find('Grant', 's1'), undefined);
      await db.oidc.upsert(write({ model: 'Session', key: 's1', uidKey: 'uid1', payload: '{"uid":"y"}' }));
      assert.equal((await db.oidc.find('Session', 's1'))?.payload, '{"uid":"y"}');
      await db.oidc.destroy('Session', 's1');
      assert.equal(await db.oidc.find('Session', 's1'), undefined);
      await db.oidc.upsert(write({ key: 'old', expiresAt: Date.now() - 1 }));
      assert.equal(await db.oidc.find('RefreshToken', 'old'), undefined);
      assert.equal(await db.oidc.consume('RefreshToken', 'old', Date.now()), false);
      assert.ok((await db.oidc.purgeExpired(Date.now())) >= 1);
    });

    test(
      'consume is a compare-and-set: one winner among concurrent callers on two pools',
      { skip: reason },
      async (t) => {
        const { db, second } = await open(t);
        await db.oidc.upsert(write());
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, index) =>
            (index % 2 === 0 ? db : second).oidc.consume('RefreshToken', 'k1', Date.now()),
          ),
        );
        assert.equal(results.filter(Boolean).length, 1);
        const consumed = await second.oidc.find('RefreshToken', 'k1');
        assert.ok(consumed?.consumedAt !== null && consumed?.consumedAt !== undefined);
        // A re-save keeps the consumed mark.
        await db.oidc.upsert(write());
        assert.notEqual((await db.oidc.find('RefreshToken', 'k1'))?.consumedAt, null);
        assert.equal(await db.oidc.consume('RefreshToken', 'missing', Date.now()), false);
      },
    );

    test('insertIfAbsent refuses a live duplicate (replay cache), even concurrently', { skip: reason }, async (t) => {
      const { db, second } = await open(t);
      const replay = write({ model: 'ReplayDetection', key: 'jti', grantId: null, accountId: null });
      const results = await Promise.all([db, second, db, second].map((store) => store.oidc.insertIfAbsent(replay)));
      assert.equal(results.filter(Boolean).length, 1);
      await db.oidc.upsert({ ...replay, key: 'expired', expiresAt: Date.now() - 1 });
      assert.equal(await db.oidc.insertIfAbsent({ ...replay, key: 'expired' }), true);
    });

    test('revocation by grant, account and client deletes every record of the grants', { skip: reason }, async (t) => {
      const { db } = await open(t);
      await db.oidc.upsert(write({ model: 'Grant', key: 'g1', grantId: 'g1' }));
      await db.oidc.upsert(write({ model: 'RefreshToken', key: 'r1', grantId: 'g1' }));
      await db.oidc.upsert(write({ model: 'AuthorizationCode', key: 'a1', grantId: 'g1', accountId: null }));
      await db.oidc.upsert(write({ model: 'RefreshToken', key: 'r2', grantId: 'g2', accountId: 'u2', clientId: 'c2' }));
      await db.oidc.upsert(write({ model: 'RefreshToken', key: 'r3', grantId: 'g3', accountId: 'u3', clientId: 'c1' }));
      const byAccount = await db.oidc.revokeByAccount('u1');
      assert.deepEqual(byAccount.grantIds, ['g1']);
      assert.equal(byAccount.records, 3);
      assert.equal(await db.oidc.find('AuthorizationCode', 'a1'), undefined);
      assert.notEqual(await db.oidc.find('RefreshToken', 'r2'), undefined);
      const byClient = await db.oidc.revokeByClient('c1');
      assert.deepEqual(byClient.grantIds, ['g3']);
      assert.equal(await db.oidc.revokeByGrantId('g2'), 1);
      assert.equal(await db.oidc.find('RefreshToken', 'r2'), undefined);
      assert.deepEqual(await db.oidc.revokeByAccount('nobody'), { grantIds: [], records: 0 });
    });

    test('clients: create, duplicate, get, list, status', { skip: reason }, async (t) => {
      const { db } = await open(t);
      const client = {
        clientId: 'b-client',
        metadata: '{"client_id":"b-client"}',
        secretHash: 'hash',
        status: 'active' as const,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      };
      assert.equal(await db.clients.create(client), 'created');
      assert.equal(await db.clients.create(client), 'duplicate');
      assert.equal(await db.clients.create({ ...client, clientId: 'a-client', secretHash: null }), 'created');
      assert.deepEqual(await db.clients.get('b-client'), client);
      assert.deepEqual(
        (await db.clients.list()).map((entry) => entry.clientId),
        ['a-client', 'b-client'],
      );
      assert.equal(await db.clients.setStatus('b-client', 'disabled', '2026-01-02T00:00:00.000Z'), true);
      assert.equal((await db.clients.get('b-client'))?.status, 'disabled');
      assert.equal(await db.clients.setStatus('nope', 'disabled', '2026-01-02T00:00:00.000Z'), false);
    });
  });
}

contract('sqlite', () => Promise.resolve(false));
contract('postgres', postgresSkip);
