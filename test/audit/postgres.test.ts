/**
 * The audit writer and verifier on PostgreSQL: the happy path and one
 * tampering case. Skipped with a notice only outside CI when the test server
 * is unreachable; with CI=true an unreachable server fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/audit/canonical.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { createAuditLog } from '../../src/audit/writer.js';
import { postgresSkip, rawPostgresExec } from '../helpers/database.js';
import { makeEvent, openAuditDatabase, openTestKeys, payloadOf, readAll, recordingStore } from './fixtures.js';

const HOUR = 3_600_000;

const skip = await postgresSkip();

test('PostgreSQL: group-committed events verify, and an edited payload is caught', { skip }, async (t) => {
  const { db, url } = await openAuditDatabase(t, 'postgres');
  const keys = await openTestKeys(t);
  const store = recordingStore(db.audit);
  const a = await createAuditLog({ store, keys, writerId: 'pg-a', checkpointIntervalMs: HOUR });
  const b = await createAuditLog({ store, keys, writerId: 'pg-b', checkpointIntervalMs: HOUR });
  await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).record(makeEvent(i))));
  await a.checkpoint();
  await Promise.all(Array.from({ length: 10 }, (_, i) => a.record(makeEvent(100 + i))));
  await Promise.all([a.close(), b.close()]);
  assert.ok(store.batches.length <= 8, `expected few appends, saw ${store.batches.length}`);

  const publicKeys = await keys.publicKeys('audit-signing');
  const report = await verifyAuditLog({ store: db.audit, publicKeys, openWriterGraceMs: 0, pageSize: 7 });
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  assert.deepEqual(
    report.writers.map((w) => [w.writerId, w.rows, w.checkpoints, w.status]),
    [
      ['pg-a', 38, 3, 'closed'],
      ['pg-b', 27, 2, 'closed'],
    ],
  );

  const target = (await readAll(db.audit, 'pg-a'))[5]!;
  const edited = { ...payloadOf(target), outcome: { status: 403, code: 'FORBIDDEN' } };
  const schema = new URL(url).searchParams.get('schema')!;
  // A superuser can disable the append-only triggers; the chain must still tell.
  await rawPostgresExec(
    schema,
    `ALTER TABLE audit_log DISABLE TRIGGER USER;
    UPDATE audit_log SET payload = '${canonicalJson(edited).replaceAll("'", "''")}' WHERE writer_id = 'pg-a' AND seq = ${target.seq}`,
  );
  const tampered = await verifyAuditLog({ store: db.audit, publicKeys, openWriterGraceMs: 0 });
  assert.equal(tampered.ok, false);
  assert.deepEqual(tampered.firstBad, { writerId: 'pg-a', seq: target.seq, reason: 'hash mismatch: row edited' });
  assert.deepEqual(
    tampered.writers.map((w) => w.status),
    ['bad', 'closed'],
  );
});
