import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { StoredDataKey } from '../../src/storage/ports.js';
import { unique, withDatabase, type ContractContext } from './fixtures.js';

function dataKey(): Omit<StoredDataKey, 'state'> {
  return {
    id: unique('dk-'),
    kekId: unique('kek-'),
    wrapped: new Uint8Array(randomBytes(61)),
    createdAt: new Date().toISOString(),
  };
}

/**
 * Registers the DataKeyStore tests. Every test shares one store, so none
 * assumes the table is empty: the first current key any test stores stays
 * current for all of them (there is one current key at a time).
 */
export function registerDataKeyContract(ctx: ContractContext): void {
  test('dataKeys: a key is stored as current only when none is; the current key is never replaced', () =>
    withDatabase(ctx, async (db) => {
      const first = dataKey();
      const current = await db.dataKeys.insertCurrentIfAbsent(first);
      assert.equal(current.state, 'current');
      const second = dataKey();
      assert.deepEqual(
        await db.dataKeys.insertCurrentIfAbsent(second),
        current,
        'a later insert returns the existing current key',
      );
      assert.deepEqual(await db.dataKeys.current(), current);
      assert.equal(await db.dataKeys.get(second.id), undefined, 'the loser is not stored');
      if (current.id === first.id) assert.deepEqual(current, { ...first, state: 'current' });
      else assert.equal(await db.dataKeys.get(first.id), undefined);
      const listed = await db.dataKeys.list();
      assert.deepEqual(
        listed.filter((key) => key.state === 'current'),
        [current],
      );
    }));

  test('dataKeys: wrapped bytes, KEK id and creation time round-trip exactly, as a Uint8Array', () =>
    withDatabase(ctx, async (db) => {
      const current = await db.dataKeys.insertCurrentIfAbsent(dataKey());
      const read = await db.dataKeys.get(current.id);
      assert.ok(read !== undefined);
      assert.ok(read.wrapped instanceof Uint8Array);
      assert.deepEqual(Buffer.from(read.wrapped), Buffer.from(current.wrapped));
      assert.deepEqual(read, current);
      assert.equal(await db.dataKeys.get(unique('absent-')), undefined);
    }));

  test('dataKeys: 20 concurrent first inserts over two connections agree on one current key', async () => {
    const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).dataKeys.insertCurrentIfAbsent(dataKey())),
      );
      assert.equal(new Set(results.map((key) => key.id)).size, 1);
      assert.equal((await a.dataKeys.list()).filter((key) => key.state === 'current').length, 1);
      assert.equal((await b.dataKeys.current())?.id, results[0]?.id);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('dataKeys: the database itself refuses a second current key written behind the port', () =>
    withDatabase(ctx, async (db) => {
      await db.dataKeys.insertCurrentIfAbsent(dataKey());
      const copy = (
        id: string,
        state: string,
      ): string => `INSERT INTO data_keys (id, kek_id, wrapped, created_at, state)
      SELECT '${id}', kek_id, wrapped, created_at, '${state}' FROM data_keys WHERE state = 'current'`;
      const id = unique('dk-raw-');
      await assert.rejects(ctx.rawExec(copy(id, 'current')), /unique/i);
      assert.equal(await db.dataKeys.get(id), undefined);
      // The same row as a retired key is accepted: the refusal above was the one-current rule, nothing else.
      await ctx.rawExec(copy(id, 'retired'));
      assert.equal((await db.dataKeys.get(id))?.state, 'retired');
    }));
}
