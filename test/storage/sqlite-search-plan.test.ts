import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../../src/storage/open.js';
import type { Database } from '../../src/storage/ports.js';
import { buildSqliteSearch, estimateCap, estimateRows, orderBySelectivity } from '../../src/storage/sqlite/search.js';
import { openTestDatabase } from '../helpers/database.js';
import { versionWrite } from './fixtures.js';

// Search must seek the (type, param, token, id) primary key, never walk every
// index row of a type: the walk was linear in the database size (bench/search.ts).

const file = await openTestDatabase('sqlite');
after(() => file.cleanup());

async function seeded(): Promise<Database> {
  const db = await openDatabase(file.url);
  await db.migrate();
  for (let i = 0; i < 300; i += 1) {
    const id = `r${String(i).padStart(4, '0')}`;
    await db.resources.commit(
      versionWrite({
        type: 'Plan',
        id,
        expectedVersion: 0,
        index: [
          { param: 'gender', token: i % 2 === 0 ? 'even' : 'odd' },
          { param: 'family', token: `f${String(i % 30)}` },
          { param: 'identifier', token: `mrn${String(i)}` },
        ],
      }),
    );
  }
  return db;
}

const db = await seeded();
after(() => db.close());

function planOf(clauses: { param: string; tokens: string[] }[]): string {
  const raw = new BetterSqlite3(file.url, { readonly: true });
  try {
    const built = buildSqliteSearch({ type: 'Plan', clauses, limit: 20 }, clauses, '');
    return raw
      .prepare(`EXPLAIN QUERY PLAN ${built.sql}`)
      .all(...built.params)
      .map((row) => (row as { detail: string }).detail)
      .join(' | ');
  } finally {
    raw.close();
  }
}

test('a one-token clause seeks the primary key, and so does each token of an OR list', () => {
  const seek = /SEARCH s0 USING PRIMARY KEY \(type=\? AND param=\? AND token=\? AND id>\?\)/;
  for (const clauses of [
    [{ param: 'gender', tokens: ['even'] }],
    [{ param: 'family', tokens: ['f1', 'f2', 'f3'] }],
    [
      { param: 'family', tokens: ['f1'] },
      { param: 'gender', tokens: ['odd'] },
    ],
  ]) {
    const plan = planOf(clauses);
    assert.match(plan, seek, plan);
    assert.doesNotMatch(plan, /SCAN s0|search_index_by_resource \(type=\? AND id>\?\)/, plan);
  }
});

test('the most selective clause drives, whatever the order the query names them in', async () => {
  const counts: Record<string, number> = { gender: 150, family: 10, identifier: 1 };
  const ordered = orderBySelectivity(
    'Plan',
    [
      { param: 'gender', tokens: ['even'] },
      { param: 'family', tokens: ['f2', 'f4'] },
      { param: 'identifier', tokens: ['mrn42'] },
    ],
    (_type, param) => counts[param] ?? 0,
  );
  assert.deepEqual(
    ordered.map((clause) => clause.param),
    ['identifier', 'family', 'gender'],
  );
  // And the answers are the same in either order, paged or not.
  const a = await db.resources.search({
    type: 'Plan',
    clauses: [
      { param: 'gender', tokens: ['even'] },
      { param: 'family', tokens: ['f2', 'f4'] },
    ],
    limit: 100,
  });
  const b = await db.resources.search({
    type: 'Plan',
    clauses: [
      { param: 'family', tokens: ['f4', 'f2'] },
      { param: 'gender', tokens: ['even'] },
    ],
    limit: 100,
  });
  assert.equal(a.length, 20);
  assert.deepEqual(a, b);
  const paged: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await db.resources.search({
      type: 'Plan',
      clauses: [
        { param: 'family', tokens: ['f2', 'f4'] },
        { param: 'gender', tokens: ['even'] },
      ],
      limit: 7,
      ...(cursor !== undefined && { after: cursor }),
    });
    paged.push(...page);
    if (page.length < 7) break;
    cursor = page.at(-1);
  }
  assert.deepEqual(paged, a);
});

test('a clause past the estimate cap is extrapolated from how far into the random ids its first rows reach', () => {
  assert.equal(estimateRows(undefined), 0);
  assert.equal(
    estimateRows({ n: 12, last: 'ffffffff-0000-4000-8000-000000000000' }),
    12,
    'below the cap the count is exact',
  );
  // 1 000 rows reaching a tenth of the id space: about 10 000.
  const tenth = Math.floor(2 ** 32 / 10)
    .toString(16)
    .padStart(8, '0');
  assert.ok(Math.abs(estimateRows({ n: estimateCap, last: `${tenth}-0000-4000-8000-000000000000` }) - 10_000) < 5);
  // Reaching the end of the id space: the cap itself.
  assert.equal(estimateRows({ n: estimateCap, last: 'ffffffff-ffff-4fff-bfff-ffffffffffff' }), estimateCap);
  assert.equal(estimateRows({ n: estimateCap, last: 'r0999' }), estimateCap, 'ids that are not UUIDs count as the cap');
});
