import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../src/storage/errors.js';
import { bytes, unique, versionWrite, withDatabase, type ContractContext } from './fixtures.js';

/** Registers the versioning tests of ResourceStore.commit/readCurrent/readVersion/history. */
export function registerResourceContract(ctx: ContractContext): void {
  test('create stores version 1 exactly; a second create conflicts and changes nothing', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      const write = versionWrite({ type, id: 'p1', expectedVersion: 0, lastUpdated: '2025-03-04T05:06:07.089Z' });
      assert.equal(await db.resources.commit(write), 'committed');
      const expected = {
        type,
        id: 'p1',
        version: 1,
        lastUpdated: '2025-03-04T05:06:07.089Z',
        deleted: false,
        body: write.body,
      };
      assert.deepEqual(await db.resources.readCurrent(type, 'p1'), expected);
      assert.deepEqual(await db.resources.readVersion(type, 'p1', 1), expected);
      const again = versionWrite({ type, id: 'p1', expectedVersion: 0, body: bytes('other') });
      assert.equal(await db.resources.commit(again), 'conflict');
      assert.deepEqual(await db.resources.readCurrent(type, 'p1'), expected);
      assert.deepEqual(await db.resources.history(type, 'p1', { limit: 10 }), [expected]);
    }));

  test("readCurrent sees every commit at once, another connection's and its own", async () => {
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const id = unique('seen');
      assert.equal(await a.resources.readCurrent('Patient', id), undefined);
      assert.equal(await b.resources.commit(versionWrite({ type: 'Patient', id, expectedVersion: 0 })), 'committed');
      assert.equal((await a.resources.readCurrent('Patient', id))?.version, 1, "another connection's create");
      assert.equal(
        await b.resources.commit(versionWrite({ type: 'Patient', id, expectedVersion: 1, deleted: true })),
        'committed',
      );
      assert.equal((await a.resources.readCurrent('Patient', id))?.deleted, true, "another connection's delete");
      assert.equal(await a.resources.commit(versionWrite({ type: 'Patient', id, expectedVersion: 2 })), 'committed');
      const own = await a.resources.readCurrent('Patient', id);
      assert.deepEqual([own?.version, own?.deleted], [3, false], 'its own re-create');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('unknown resources and versions read as undefined or empty', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      assert.equal(await db.resources.readCurrent(type, 'nope'), undefined);
      assert.equal(await db.resources.readVersion(type, 'nope', 1), undefined);
      assert.deepEqual(await db.resources.history(type, 'nope', { limit: 5 }), []);
      await db.resources.commit(versionWrite({ type, id: 'a', expectedVersion: 0 }));
      assert.equal(await db.resources.readVersion(type, 'a', 2), undefined);
      assert.equal(await db.resources.readCurrent(unique('Other'), 'a'), undefined);
    }));

  test('update needs the current version: stale or missing expectedVersion conflicts', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      assert.equal(await db.resources.commit(versionWrite({ type, id: 'x', expectedVersion: 1 })), 'conflict');
      assert.equal(await db.resources.readCurrent(type, 'x'), undefined);
      await db.resources.commit(versionWrite({ type, id: 'x', expectedVersion: 0 }));
      assert.equal(
        await db.resources.commit(versionWrite({ type, id: 'x', expectedVersion: 1, body: bytes('v2') })),
        'committed',
      );
      assert.equal(
        await db.resources.commit(versionWrite({ type, id: 'x', expectedVersion: 1, body: bytes('late') })),
        'conflict',
      );
      // The version check itself must refuse, not only the (type, id, version) key.
      assert.equal(
        await db.resources.commit(versionWrite({ type, id: 'x', expectedVersion: 1, version: 7 })),
        'conflict',
      );
      assert.equal(
        await db.resources.commit(versionWrite({ type, id: 'x', expectedVersion: 3, version: 7 })),
        'conflict',
      );
      assert.equal(await db.resources.readVersion(type, 'x', 7), undefined);
      const current = await db.resources.readCurrent(type, 'x');
      assert.equal(current?.version, 2);
      assert.deepEqual(current.body, bytes('v2'));
      assert.deepEqual(await db.resources.readVersion(type, 'x', 1).then((v) => v?.body), bytes('sealed x v1'));
    }));

  test('a tombstone is the current version with history kept, and can be followed by a re-create', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      await db.resources.commit(versionWrite({ type, id: 'd', expectedVersion: 0 }));
      await db.resources.commit(versionWrite({ type, id: 'd', expectedVersion: 1 }));
      assert.equal(
        await db.resources.commit(versionWrite({ type, id: 'd', expectedVersion: 2, deleted: true })),
        'committed',
      );
      const tomb = await db.resources.readCurrent(type, 'd');
      assert.equal(tomb?.version, 3);
      assert.equal(tomb.deleted, true);
      assert.equal(tomb.body, null);
      assert.deepEqual(
        (await db.resources.history(type, 'd', { limit: 10 })).map((v) => [v.version, v.deleted]),
        [
          [3, true],
          [2, false],
          [1, false],
        ],
      );
      assert.equal(await db.resources.commit(versionWrite({ type, id: 'd', expectedVersion: 0 })), 'conflict');
      assert.equal(await db.resources.commit(versionWrite({ type, id: 'd', expectedVersion: 3 })), 'committed');
      assert.equal((await db.resources.readCurrent(type, 'd'))?.deleted, false);
    }));

  test('history is newest first and pages with before/limit', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      for (let v = 0; v < 5; v++) await db.resources.commit(versionWrite({ type, id: 'h', expectedVersion: v }));
      const page = async (before: number | undefined, limit: number) =>
        (await db.resources.history(type, 'h', before === undefined ? { limit } : { before, limit })).map(
          (v) => v.version,
        );
      assert.deepEqual(await page(undefined, 2), [5, 4]);
      assert.deepEqual(await page(4, 2), [3, 2]);
      assert.deepEqual(await page(2, 2), [1]);
      assert.deepEqual(await page(1, 2), []);
      assert.deepEqual(await page(undefined, 10), [5, 4, 3, 2, 1]);
      assert.deepEqual(await page(undefined, 0), []);
    }));

  test('bodies round-trip byte for byte, including views with an offset and empty bodies', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const view = new Uint8Array(all.buffer, 10, 20);
      await db.resources.commit(versionWrite({ type, id: 'b', expectedVersion: 0, body: all }));
      await db.resources.commit(versionWrite({ type, id: 'b', expectedVersion: 1, body: view }));
      await db.resources.commit(versionWrite({ type, id: 'b', expectedVersion: 2, body: new Uint8Array(0) }));
      assert.deepEqual((await db.resources.readVersion(type, 'b', 1))?.body, all);
      assert.deepEqual(
        (await db.resources.readVersion(type, 'b', 2))?.body,
        Uint8Array.from({ length: 20 }, (_, i) => i + 10),
      );
      assert.deepEqual((await db.resources.readCurrent(type, 'b'))?.body, new Uint8Array(0));
    }));

  test('writes the port forbids are rejected with StorageError("invalid")', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      const invalid = (error: unknown) => error instanceof StorageError && error.reason === 'invalid';
      await assert.rejects(
        db.resources.commit(versionWrite({ type, id: 'i', expectedVersion: 0, version: 0 })),
        invalid,
      );
      await assert.rejects(db.resources.commit(versionWrite({ type, id: 'i', expectedVersion: -1 })), invalid);
      await assert.rejects(
        db.resources.commit(versionWrite({ type, id: 'i', expectedVersion: 0, deleted: true, body: bytes('x') })),
        invalid,
      );
      await assert.rejects(db.resources.history(type, 'i', { limit: -1 }), invalid);
      assert.equal(await db.resources.readCurrent(type, 'i'), undefined);
    }));

  test('20 concurrent commits with the same expectedVersion: exactly one commits', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      await db.resources.commit(versionWrite({ type, id: 'c', expectedVersion: 0 }));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          db.resources.commit(versionWrite({ type, id: 'c', expectedVersion: 1, body: bytes(`writer ${String(i)}`) })),
        ),
      );
      assert.equal(results.filter((r) => r === 'committed').length, 1);
      assert.equal(results.filter((r) => r === 'conflict').length, 19);
      const winner = results.indexOf('committed');
      assert.deepEqual((await db.resources.readCurrent(type, 'c'))?.body, bytes(`writer ${String(winner)}`));
      assert.equal((await db.resources.history(type, 'c', { limit: 10 })).length, 2);
    }));

  test('two separately opened databases racing the same create and update: one winner each', async () => {
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const type = unique('T');
      const creates = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? a : b).resources.commit(versionWrite({ type, id: 'r', expectedVersion: 0 })),
        ),
      );
      assert.equal(creates.filter((r) => r === 'committed').length, 1);
      const updates = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? b : a).resources.commit(
            versionWrite({ type, id: 'r', expectedVersion: 1, index: [{ param: 'p', token: String(i) }] }),
          ),
        ),
      );
      assert.equal(updates.filter((r) => r === 'committed').length, 1);
      const winner = updates.indexOf('committed');
      assert.equal((await a.resources.readCurrent(type, 'r'))?.version, 2);
      assert.deepEqual(
        await b.resources.search({ type, clauses: [{ param: 'p', tokens: [String(winner)] }], limit: 5 }),
        ['r'],
      );
      const everyToken = Array.from({ length: 20 }, (_, i) => String(i));
      assert.deepEqual(await a.resources.search({ type, clauses: [{ param: 'p', tokens: everyToken }], limit: 50 }), [
        'r',
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}
