import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database, IndexEntry } from '../../src/storage/ports.js';
import { unique, versionWrite, withDatabase, type ContractContext } from './fixtures.js';

async function create(db: Database, type: string, id: string, index: IndexEntry[]): Promise<void> {
  assert.equal(await db.resources.commit(versionWrite({ type, id, expectedVersion: 0, index })), 'committed');
}

/** Registers the search and index-maintenance tests of ResourceStore. */
export function registerSearchContract(ctx: ContractContext): void {
  test('search: AND across clauses, OR within a clause, ascending ids, type isolation', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      await create(db, type, 'c', [
        { param: 'name', token: 'x' },
        { param: 'city', token: 'q' },
      ]);
      await create(db, type, 'a', [
        { param: 'name', token: 'x' },
        { param: 'city', token: 'p' },
        { param: 'tag', token: 't' },
      ]);
      await create(db, type, 'b', [
        { param: 'name', token: 'y' },
        { param: 'city', token: 'p' },
      ]);
      await create(db, unique('Other'), 'z', [{ param: 'name', token: 'x' }]);
      const search = (clauses: { param: string; tokens: string[] }[]) =>
        db.resources.search({ type, clauses, limit: 50 });
      assert.deepEqual(await search([{ param: 'name', tokens: ['x'] }]), ['a', 'c']);
      assert.deepEqual(await search([{ param: 'name', tokens: ['x', 'y'] }]), ['a', 'b', 'c']);
      assert.deepEqual(
        await search([
          { param: 'name', tokens: ['x'] },
          { param: 'city', tokens: ['p'] },
        ]),
        ['a'],
      );
      assert.deepEqual(
        await search([
          { param: 'name', tokens: ['x', 'y'] },
          { param: 'city', tokens: ['p'] },
        ]),
        ['a', 'b'],
      );
      assert.deepEqual(
        await search([
          { param: 'name', tokens: ['x', 'y'] },
          { param: 'city', tokens: ['p', 'q'] },
          { param: 'tag', tokens: ['t'] },
        ]),
        ['a'],
      );
      assert.deepEqual(
        await search([
          { param: 'city', tokens: ['q'] },
          { param: 'name', tokens: ['y'] },
        ]),
        [],
      );
      assert.deepEqual(await search([{ param: 'name', tokens: [] }]), []);
      assert.deepEqual(
        await search([{ param: 'city', tokens: ['x'] }]),
        [],
        'a token matches only under its own param',
      );
      assert.deepEqual(await search([]), ['a', 'b', 'c']);
    }));

  test('search pages with after and limit, in byte order of ids', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      const ids = ['r5', 'B', 'r1', '_x', 'a', 'r3', 'Z9', 'r2'];
      for (const id of ids)
        await create(db, type, id, [
          { param: 'k', token: 'v' },
          { param: 'k', token: 'v' },
        ]);
      const sorted = [...ids].sort();
      const clauses = [{ param: 'k', tokens: ['v', 'w'] }];
      for (const query of [
        { type, clauses },
        { type, clauses: [] },
      ]) {
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await db.resources.search({ ...query, limit: 3, ...(after === undefined ? {} : { after }) });
          assert.ok(page.length <= 3);
          if (page.length === 0) break;
          seen.push(...page);
          after = page.at(-1);
        }
        assert.deepEqual(seen, sorted);
      }
      assert.deepEqual(await db.resources.search({ type, clauses, limit: 2 }), sorted.slice(0, 2));
      assert.deepEqual(await db.resources.search({ type, clauses, after: 'r2', limit: 10 }), ['r3', 'r5']);
      assert.deepEqual(await db.resources.search({ type, clauses, limit: 0 }), []);
    }));

  test('an update replaces the index rows; a delete removes them', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      const byName = (token: string) =>
        db.resources.search({ type, clauses: [{ param: 'name', tokens: [token] }], limit: 10 });
      await create(db, type, 'p', [
        { param: 'name', token: 'alice' },
        { param: 'name', token: 'al' },
      ]);
      await create(db, type, 'q', [{ param: 'name', token: 'al' }]);
      assert.deepEqual(await byName('alice'), ['p']);
      await db.resources.commit(
        versionWrite({ type, id: 'p', expectedVersion: 1, index: [{ param: 'name', token: 'bob' }] }),
      );
      assert.deepEqual(await byName('alice'), []);
      assert.deepEqual(await byName('al'), ['q']);
      assert.deepEqual(await byName('bob'), ['p']);
      await db.resources.commit(versionWrite({ type, id: 'p', expectedVersion: 2, deleted: true }));
      assert.deepEqual(await byName('bob'), []);
      assert.deepEqual(await db.resources.search({ type, clauses: [], limit: 10 }), ['q']);
      await db.resources.commit(
        versionWrite({ type, id: 'p', expectedVersion: 3, index: [{ param: 'name', token: 'carol' }] }),
      );
      assert.deepEqual(await byName('carol'), ['p']);
      assert.deepEqual(await db.resources.search({ type, clauses: [], limit: 10 }), ['p', 'q']);
    }));

  test('a conflicting commit leaves the index untouched', () =>
    withDatabase(ctx, async (db) => {
      const type = unique('T');
      await create(db, type, 'p', [{ param: 'name', token: 'keep' }]);
      const stale = versionWrite({ type, id: 'p', expectedVersion: 0, index: [{ param: 'name', token: 'lost' }] });
      assert.equal(await db.resources.commit(stale), 'conflict');
      assert.deepEqual(
        await db.resources.search({ type, clauses: [{ param: 'name', tokens: ['keep', 'lost'] }], limit: 10 }),
        ['p'],
      );
      assert.deepEqual(
        await db.resources.search({ type, clauses: [{ param: 'name', tokens: ['lost'] }], limit: 10 }),
        [],
      );
    }));
}
