import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { StorageError } from '../../src/storage/errors.js';
import { openDatabase } from '../../src/storage/open.js';
import type { Database, StoredDataKey } from '../../src/storage/ports.js';
import { openTestDatabase } from '../helpers/database.js';
import { bytes, unique, versionWrite } from './fixtures.js';

function dataKey(): Omit<StoredDataKey, 'state'> {
  return {
    id: unique('dk-'),
    kekId: unique('kek-'),
    wrapped: new Uint8Array(randomBytes(61)),
    createdAt: new Date().toISOString(),
  };
}

/** Runs the body on a fresh migrated database of the kind (rotation changes the one current key, so no sharing). */
async function fresh<T>(kind: 'sqlite' | 'postgres', body: (db: Database, url: string) => Promise<T>): Promise<T> {
  const opened = await openTestDatabase(kind);
  try {
    return await body(opened.db, opened.url);
  } finally {
    await opened.cleanup();
  }
}

/** A body that looks sealed under `keyByte`: the 3-byte magic and version, then a 16-byte key id. */
function sealedLike(keyByte: number, text: string): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.of(0xca, 0xdc, 0x01), Buffer.alloc(16, keyByte), Buffer.from(text)]));
}

const magic = new Uint8Array([0xca, 0xdc, 0x01]);

/** The storage methods key rotation needs (DataKeyStore.rotateCurrent and rewrap, SealedBodyStore), on one adapter. */
export function registerRotationStoreContract(kind: 'sqlite' | 'postgres'): void {
  test(`${kind} rotation: rotateCurrent swaps the current key only from the expected one, atomically`, () =>
    fresh(kind, async (db) => {
      const first = dataKey();
      assert.equal(
        await db.dataKeys.rotateCurrent(first, 'not-the-current-one'),
        false,
        'no current key yet: only undefined is expected',
      );
      assert.equal(await db.dataKeys.rotateCurrent(first, undefined), true);
      assert.equal((await db.dataKeys.current())?.id, first.id);
      const second = dataKey();
      assert.equal(await db.dataKeys.rotateCurrent(second, undefined), false, 'a current key exists now');
      assert.equal(await db.dataKeys.rotateCurrent(second, unique('other-')), false);
      assert.equal(await db.dataKeys.get(second.id), undefined, 'a refused rotation stores nothing');
      assert.equal(await db.dataKeys.rotateCurrent(second, first.id), true);
      assert.equal((await db.dataKeys.current())?.id, second.id);
      assert.equal(
        (await db.dataKeys.get(first.id))?.state,
        'retired',
        'the old key stays, retired: it still opens what it sealed',
      );
      assert.deepEqual(
        (await db.dataKeys.list()).map((key) => [key.id, key.state]).sort(),
        [
          [first.id, 'retired'],
          [second.id, 'current'],
        ].sort(),
      );
    }));

  test(`${kind} rotation: of ten concurrent rotations from the same key over two connections exactly one wins`, () =>
    fresh(kind, async (db, url) => {
      const base = dataKey();
      await db.dataKeys.insertCurrentIfAbsent(base);
      const other = await openDatabase(url);
      try {
        const candidates = Array.from({ length: 10 }, dataKey);
        const results = await Promise.all(
          candidates.map((key, i) => (i % 2 === 0 ? db : other).dataKeys.rotateCurrent(key, base.id)),
        );
        assert.equal(results.filter(Boolean).length, 1);
        const winner = candidates[results.indexOf(true)];
        assert.equal((await other.dataKeys.current())?.id, winner?.id);
        assert.equal((await db.dataKeys.list()).filter((key) => key.state === 'current').length, 1);
        assert.equal((await db.dataKeys.list()).length, 2, 'the losers stored nothing');
      } finally {
        await other.close();
      }
    }));

  test(`${kind} rotation: rewrap replaces a wrapping only while it is still the expected one`, () =>
    fresh(kind, async (db) => {
      const key = dataKey();
      await db.dataKeys.insertCurrentIfAbsent(key);
      const next = { kekId: unique('kek-new-'), wrapped: new Uint8Array(randomBytes(61)) };
      assert.equal(
        await db.dataKeys.rewrap(key.id, { kekId: key.kekId, wrapped: new Uint8Array(randomBytes(61)) }, next),
        false,
        'other bytes: refused',
      );
      assert.equal(await db.dataKeys.rewrap(unique('absent-'), key, next), false);
      assert.equal(await db.dataKeys.rewrap(key.id, key, next), true);
      const stored = await db.dataKeys.get(key.id);
      assert.ok(stored !== undefined);
      assert.equal(stored.kekId, next.kekId);
      assert.deepEqual(Buffer.from(stored.wrapped), Buffer.from(next.wrapped));
      assert.equal(stored.state, 'current', 're-wrapping keeps the state');
      assert.equal(
        await db.dataKeys.rewrap(key.id, key, { kekId: unique('kek-late-'), wrapped: next.wrapped }),
        false,
        'a second re-wrap from the old wrapping loses',
      );
    }));

  test(`${kind} rotation: scan walks every version in key order, in pages, with tombstones and skipped bodies as null`, () =>
    fresh(kind, async (db) => {
      await db.resources.commit(versionWrite({ type: 'B', id: 'x', expectedVersion: 0, body: sealedLike(1, 'b-x-1') }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'y', expectedVersion: 0, body: sealedLike(2, 'a-y-1') }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'y', expectedVersion: 1, body: sealedLike(1, 'a-y-2') }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'y', expectedVersion: 2, deleted: true }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'z', expectedVersion: 0, body: bytes('plain') }));
      const all = await db.sealedBodies.scan({ limit: 100 });
      assert.deepEqual(
        all.map((row) => `${row.type}/${row.id}/${String(row.version)}`),
        ['A/y/1', 'A/y/2', 'A/y/3', 'A/z/1', 'B/x/1'],
      );
      assert.equal(all[2]?.body, null, 'a tombstone has no body');
      assert.ok(all[0]?.body instanceof Uint8Array);
      assert.deepEqual(Buffer.from(all[3]?.body ?? []).toString(), 'plain');
      const pages: string[] = [];
      let after;
      for (;;) {
        const page = await db.sealedBodies.scan({ ...(after !== undefined && { after }), limit: 2 });
        pages.push(...page.map((row) => `${row.type}/${row.id}/${String(row.version)}`));
        if (page.length < 2) break;
        after = page.at(-1);
      }
      assert.equal(pages.join(','), 'A/y/1,A/y/2,A/y/3,A/z/1,B/x/1', 'pages resume strictly after the cursor');
      const skipping = await db.sealedBodies.scan({ skipPrefix: sealedLike(1, '').subarray(0, 19), limit: 100 });
      assert.deepEqual(
        skipping.map((row) => row.body === null),
        [false, true, true, false, true],
        'bodies under the skipped key come back null, the rest whole',
      );
      await assert.rejects(db.sealedBodies.scan({ limit: -1 }), (error: unknown) => error instanceof StorageError);
    }));

  test(`${kind} rotation: replace is a compare-and-set on the exact bytes, seen by every reader at once`, () =>
    fresh(kind, async (db, url) => {
      const old = sealedLike(1, 'v1');
      await db.resources.commit(versionWrite({ type: 'A', id: 'r', expectedVersion: 0, body: old }));
      const other = await openDatabase(url);
      try {
        assert.deepEqual(
          Buffer.from((await db.resources.readCurrent('A', 'r'))?.body ?? []),
          Buffer.from(old),
          'read once (and cached where the adapter caches)',
        );
        const resealed = sealedLike(2, 'v1 again');
        assert.equal(
          await db.sealedBodies.replace({ type: 'A', id: 'r', version: 1 }, sealedLike(1, 'other'), resealed),
          false,
          'different expected bytes: refused',
        );
        assert.equal(
          await db.sealedBodies.replace({ type: 'A', id: 'r', version: 2 }, old, resealed),
          false,
          'no such version',
        );
        assert.equal(await db.sealedBodies.replace({ type: 'A', id: 'r', version: 1 }, old, resealed), true);
        assert.equal(
          await other.sealedBodies.replace({ type: 'A', id: 'r', version: 1 }, old, sealedLike(3, 'late')),
          false,
          'a second re-seal from the old bytes loses',
        );
        for (const reader of [db, other]) {
          assert.deepEqual(
            Buffer.from((await reader.resources.readCurrent('A', 'r'))?.body ?? []),
            Buffer.from(resealed),
          );
          assert.deepEqual(
            Buffer.from((await reader.resources.readVersion('A', 'r', 1))?.body ?? []),
            Buffer.from(resealed),
          );
        }
        assert.equal(
          (await db.resources.readCurrent('A', 'r'))?.version,
          1,
          'the version and its pointer are untouched',
        );
        const again = sealedLike(4, 'batch');
        assert.deepEqual(
          await other.sealedBodies.replaceAll([
            { ref: { type: 'A', id: 'r', version: 1 }, expected: old, body: again },
            { ref: { type: 'A', id: 'r', version: 1 }, expected: resealed, body: again },
            { ref: { type: 'A', id: 'nope', version: 1 }, expected: resealed, body: again },
          ]),
          [false, true, false],
          'each item of a batch is its own compare-and-set',
        );
        assert.deepEqual(
          Buffer.from((await db.resources.readVersion('A', 'r', 1))?.body ?? []),
          Buffer.from(again),
          'the batch is seen by the other connection at once',
        );
        assert.deepEqual(await db.sealedBodies.replaceAll([]), []);
      } finally {
        await other.close();
      }
    }));

  test(`${kind} rotation: count groups bodies with the prefix by their key-id bytes; total counts every body`, () =>
    fresh(kind, async (db) => {
      await db.resources.commit(versionWrite({ type: 'A', id: 'a', expectedVersion: 0, body: sealedLike(1, '1') }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'a', expectedVersion: 1, body: sealedLike(1, '2') }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'b', expectedVersion: 0, body: sealedLike(0xab, '3') }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'b', expectedVersion: 1, deleted: true }));
      await db.resources.commit(versionWrite({ type: 'A', id: 'c', expectedVersion: 0, body: bytes('plain json') }));
      const { total, bySlice } = await db.sealedBodies.count({ prefix: magic, offset: 3, length: 16 });
      assert.equal(total, 4, 'tombstones have no body');
      assert.deepEqual([...bySlice].sort(), [
        ['01'.repeat(16), 2],
        ['ab'.repeat(16), 1],
      ]);
      const empty = await fresh(kind, (blank) => blank.sealedBodies.count({ prefix: magic, offset: 3, length: 16 }));
      assert.deepEqual({ total: empty.total, groups: empty.bySlice.size }, { total: 0, groups: 0 });
    }));
}
