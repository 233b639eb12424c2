/**
 * The care-team store port (src/storage/care-team-ports.ts): one contract suite
 * run against the SQLite and the PostgreSQL adapter, including two
 * "processes" (two connections) assigning the same pair at once.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CareTeamAssignment } from '../../src/storage/care-team-ports.js';
import { openDatabase } from '../../src/storage/open.js';
import { openTestDatabase, postgresSkip } from '../helpers/database.js';

function assignment(subject: string, patient: string, id: string = randomUUID()): CareTeamAssignment {
  return { id, subject, patient, assignedBy: 'admin-1', assignedAt: '2026-01-02T03:04:05.678Z' };
}

async function contract(t: TestContext, kind: 'sqlite' | 'postgres'): Promise<void> {
  const opened = await openTestDatabase(kind);
  t.after(() => opened.cleanup());
  const store = opened.db.careTeam;

  const first = assignment('dr-a', 'p-2');
  assert.deepEqual(await store.assign(first), { assignment: first, created: true });
  // The same pair again keeps the first row, whatever id the second call brought.
  assert.deepEqual(await store.assign(assignment('dr-a', 'p-2')), { assignment: first, created: false });
  await store.assign(assignment('dr-a', 'p-1'));
  await store.assign(assignment('dr-b', 'p-1'));
  await store.assign(assignment('device-7', 'p-3'));

  assert.equal(await store.isAssigned('dr-a', 'p-2'), true);
  assert.equal(await store.isAssigned('dr-a', 'p-3'), false);
  assert.equal(await store.isAssigned('dr-A', 'p-2'), false, 'subjects compare exactly');
  assert.equal(await store.isAssigned("dr-a' OR '1'='1", 'p-2'), false, 'values are bound, never SQL');
  assert.deepEqual(await store.patientsOf('dr-a'), ['p-1', 'p-2']);
  assert.deepEqual(await store.patientsOf('nobody'), []);

  const all = await store.list({ limit: 10 });
  assert.equal(all.length, 4);
  assert.deepEqual(
    all.map((row) => row.id),
    [...all.map((row) => row.id)].sort(),
  );
  assert.deepEqual((await store.list({ subject: 'dr-a', limit: 10 })).map((row) => row.patient).sort(), ['p-1', 'p-2']);
  assert.deepEqual((await store.list({ patient: 'p-1', limit: 10 })).map((row) => row.subject).sort(), [
    'dr-a',
    'dr-b',
  ]);
  assert.deepEqual(await store.list({ subject: 'dr-b', patient: 'p-2', limit: 10 }), []);
  // Keyset pages: two, then the rest, no overlap.
  const page1 = await store.list({ limit: 2 });
  const page2 = await store.list({ after: page1.at(-1)!.id, limit: 10 });
  assert.deepEqual([...page1, ...page2], all);
  await assert.rejects(store.list({ limit: -1 }), { name: 'StorageError' });

  assert.deepEqual(await store.remove(first.id), first);
  assert.equal(await store.remove(first.id), undefined);
  assert.equal(await store.isAssigned('dr-a', 'p-2'), false);
  const removed = await store.unassign('dr-b', 'p-1');
  assert.equal(removed?.subject, 'dr-b');
  assert.equal(await store.unassign('dr-b', 'p-1'), undefined);
  assert.deepEqual(await store.patientsOf('dr-b'), []);

  // Two processes assign one pair at once: exactly one creates it, both see the same row.
  const second = await openDatabase(opened.url);
  t.after(() => second.close());
  const racers = await Promise.all([
    store.assign(assignment('dr-c', 'p-9')),
    second.careTeam.assign(assignment('dr-c', 'p-9')),
  ]);
  assert.deepEqual(racers.map((result) => result.created).sort(), [false, true]);
  assert.equal(racers[0].assignment.id, racers[1].assignment.id);
  assert.equal(await second.careTeam.isAssigned('dr-c', 'p-9'), true);
}

test('care-team store contract on SQLite', (t) => contract(t, 'sqlite'));

test('care-team store contract on PostgreSQL', { skip: await postgresSkip() }, (t) => contract(t, 'postgres'));
