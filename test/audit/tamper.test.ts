/**
 * Tampering with a closed audit log through a raw connection to the same
 * SQLite file, as an operator with file access could; the verifier must
 * report each change and name the first bad writer and seq.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { sqliteAuditFile } from '../../src/storage/sqlite/connection.js';
import { canonicalJson } from '../../src/audit/canonical.js';
import { chainHash } from '../../src/audit/chain.js';
import { verifyAuditLog, type VerifyReport } from '../../src/audit/verify.js';
import { createAuditLog } from '../../src/audit/writer.js';
import type { KeyManager } from '../../src/keys/ports.js';
import type { Database } from '../../src/storage/ports.js';
import { makeEvent, openAuditDatabase, openTestKeys } from './fixtures.js';

const HOUR = 3_600_000;
const WRITER = 'w-tamper';

interface Logged {
  readonly db: Database;
  readonly url: string;
  readonly keys: KeyManager;
  verify(options?: { now?: Date; pageSize?: number }): Promise<VerifyReport>;
}

/**
 * seq 1 open, 2-6 events req-0..4, 7 checkpoint, 8-12 events req-5..9, 13 close.
 */
async function closedLog(t: TestContext, writerId = WRITER, existing?: Logged): Promise<Logged> {
  const { db, url } = existing ?? (await openAuditDatabase(t, 'sqlite'));
  const keys = existing?.keys ?? (await openTestKeys(t));
  const log = await createAuditLog({ store: db.audit, keys, writerId, checkpointIntervalMs: HOUR });
  for (let i = 0; i < 5; i += 1) await log.record(makeEvent(i));
  await log.checkpoint();
  for (let i = 5; i < 10; i += 1) await log.record(makeEvent(i));
  await log.close();
  return {
    db,
    url,
    keys,
    verify: async (options = {}) =>
      verifyAuditLog({
        store: db.audit,
        publicKeys: await keys.publicKeys('audit-signing'),
        openWriterGraceMs: 60_000,
        ...options,
      }),
  };
}

interface RawRow {
  seq: number;
  payload: string;
  prev_hash: string;
  hash: string;
}

/** Opens the file directly, drops the append-only triggers (an attacker with file access can), runs `change`. */
function tamper(url: string, change: (raw: BetterSqlite3.Database) => void): void {
  const raw = new BetterSqlite3(sqliteAuditFile(url));
  try {
    const triggers = raw
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`)
      .pluck()
      .all() as string[];
    for (const name of triggers) raw.exec(`DROP TRIGGER "${name}"`);
    change(raw);
  } finally {
    raw.close();
  }
}

function rowAt(raw: BetterSqlite3.Database, seq: number, writerId = WRITER): RawRow {
  return raw
    .prepare('SELECT seq, payload, prev_hash, hash FROM audit_log WHERE writer_id = ? AND seq = ?')
    .get(writerId, seq) as RawRow;
}

/** An edited event payload, still canonical JSON. */
function editedPayload(row: RawRow): string {
  const event = JSON.parse(row.payload) as { action: { resourceId: string } };
  event.action.resourceId = 'p-forged';
  return canonicalJson(event);
}

/** Recomputes prev_hash and hash of every row from `fromSeq` on, as a forger without the signing key would. */
function rechain(raw: BetterSqlite3.Database, fromSeq: number): void {
  const rows = raw
    .prepare('SELECT seq, payload, prev_hash, hash FROM audit_log WHERE writer_id = ? AND seq >= ? ORDER BY seq')
    .all(WRITER, fromSeq) as RawRow[];
  let prev = fromSeq === 1 ? '' : rowAt(raw, fromSeq - 1).hash;
  for (const row of rows) {
    const hash = chainHash(prev, row.payload);
    raw
      .prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE writer_id = ? AND seq = ?')
      .run(prev, hash, WRITER, row.seq);
    prev = hash;
  }
}

function assertBad(report: VerifyReport, seq: number, reason: RegExp, writerId = WRITER): void {
  assert.equal(report.ok, false);
  assert.equal(report.firstBad?.writerId, writerId);
  assert.equal(report.firstBad.seq, seq, report.firstBad.reason);
  assert.match(report.firstBad.reason, reason);
}

test('the untouched log verifies, in pages of any size', async (t) => {
  const log = await closedLog(t);
  for (const pageSize of [1, 5, 13, 1000]) {
    const report = await log.verify({ pageSize });
    assert.equal(report.ok, true, JSON.stringify(report.firstBad));
    assert.deepEqual(report.writers, [{ writerId: WRITER, rows: 13, checkpoints: 3, status: 'closed' }]);
  }
});

test('the append-only triggers refuse UPDATE and DELETE on audit_log', async (t) => {
  const log = await closedLog(t);
  const raw = new BetterSqlite3(sqliteAuditFile(log.url));
  t.after(() => raw.close());
  assert.throws(() => raw.prepare("UPDATE audit_log SET payload = '{}' WHERE seq = 2").run(), /append-only/);
  assert.throws(() => raw.prepare('DELETE FROM audit_log WHERE seq = 2').run(), /append-only/);
});

test('an edited payload is a hash mismatch at its row', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('UPDATE audit_log SET payload = ? WHERE seq = 4').run(editedPayload(rowAt(raw, 4)));
  });
  assertBad(await log.verify({ pageSize: 3 }), 4, /hash mismatch/);
});

test('an edited payload with its hash recomputed breaks the chain at the next row', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    const payload = editedPayload(rowAt(raw, 4));
    raw
      .prepare('UPDATE audit_log SET payload = ?, hash = ? WHERE seq = 4')
      .run(payload, chainHash(rowAt(raw, 4).prev_hash, payload));
  });
  assertBad(await log.verify(), 5, /chain break/);
});

test('an edit with every later hash recomputed is caught by the next signed checkpoint', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('UPDATE audit_log SET payload = ? WHERE seq = 4').run(editedPayload(rowAt(raw, 4)));
    rechain(raw, 4);
  });
  assertBad(await log.verify(), 7, /checkpoint seq\/hash do not match the chain/);
});

test('a deleted middle row is a seq gap', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('DELETE FROM audit_log WHERE seq = 4').run();
  });
  assertBad(await log.verify(), 5, /seq gap: expected 4, found 5/);
});

test('a deleted head is detected, even when the rest is renumbered and rechained', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('DELETE FROM audit_log WHERE seq = 1').run();
  });
  assertBad(await log.verify(), 2, /seq gap: expected 1, found 2/);
  tamper(log.url, (raw) => {
    raw.prepare('UPDATE audit_log SET seq = seq - 1').run();
    rechain(raw, 1);
  });
  assertBad(await log.verify(), 1, /first row is not the signed open checkpoint/);
});

test('a forged row inserted in the middle breaks the chain after it', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    // Make room at seq 5 without tripping the primary key, then chain the forgery onto row 4.
    raw.prepare('UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 5').run();
    raw.prepare('UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000').run();
    const payload = canonicalJson(makeEvent(666));
    const prev = rowAt(raw, 4).hash;
    raw
      .prepare(
        'INSERT INTO audit_log (writer_id, seq, time, kind, payload, prev_hash, hash) VALUES (?, 5, ?, ?, ?, ?, ?)',
      )
      .run(WRITER, (JSON.parse(payload) as { time: string }).time, 'event', payload, prev, chainHash(prev, payload));
  });
  assertBad(await log.verify(), 6, /chain break/);
});

test('a forged row appended after the close checkpoint is detected', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    const payload = canonicalJson(makeEvent(666));
    const prev = rowAt(raw, 13).hash;
    raw
      .prepare(
        'INSERT INTO audit_log (writer_id, seq, time, kind, payload, prev_hash, hash) VALUES (?, 14, ?, ?, ?, ?, ?)',
      )
      .run(WRITER, (JSON.parse(payload) as { time: string }).time, 'event', payload, prev, chainHash(prev, payload));
  });
  assertBad(await log.verify(), 14, /after the close checkpoint/);
});

test('two rows with swapped seqs break the chain at the first of them', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('UPDATE audit_log SET seq = 1003 WHERE seq = 3').run();
    raw.prepare('UPDATE audit_log SET seq = 3 WHERE seq = 4').run();
    raw.prepare('UPDATE audit_log SET seq = 4 WHERE seq = 1003').run();
  });
  assertBad(await log.verify(), 3, /chain break/);
});

test('a tail cut back to an earlier checkpoint is an error once the grace period is over', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('DELETE FROM audit_log WHERE seq >= 8').run();
  });
  const later = new Date(Date.now() + HOUR);
  const report = await log.verify({ now: later });
  assertBad(report, 7, /^tail cut or writer crashed: 0 rows after last checkpoint$/);
  assert.equal(report.writers[0]!.rows, 7);
  // Within the grace period the same chain is indistinguishable from a live writer.
  assert.equal((await log.verify()).ok, true);
});

test('a removed close checkpoint leaves a tail of uncovered rows', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare('DELETE FROM audit_log WHERE seq = 13').run();
  });
  assertBad(
    await log.verify({ now: new Date(Date.now() + HOUR) }),
    12,
    /^tail cut or writer crashed: 5 rows after last checkpoint$/,
  );
});

test('an edited time column no longer matches the hashed payload', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare("UPDATE audit_log SET time = '2000-01-01T00:00:00.000Z' WHERE seq = 3").run();
  });
  assertBad(await log.verify(), 3, /row time does not match/);
});

test('a checkpoint relabelled as an event is detected', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    raw.prepare("UPDATE audit_log SET kind = 'event' WHERE seq = 7").run();
  });
  assertBad(await log.verify(), 7, /not an audit event/);
});

test('a checkpoint with a forged signature is detected even when rechained', async (t) => {
  const log = await closedLog(t);
  tamper(log.url, (raw) => {
    const checkpoint = JSON.parse(rowAt(raw, 7).payload) as { signature: string };
    checkpoint.signature = (JSON.parse(rowAt(raw, 13).payload) as { signature: string }).signature;
    raw.prepare('UPDATE audit_log SET payload = ? WHERE seq = 7').run(canonicalJson(checkpoint));
    rechain(raw, 7);
  });
  assertBad(await log.verify(), 7, /checkpoint signature is invalid/);
});

test('checkpoints signed by a key the verifier does not know are rejected', async (t) => {
  const log = await closedLog(t);
  const strangers = await openTestKeys(t);
  const report = await verifyAuditLog({
    store: log.db.audit,
    publicKeys: await strangers.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assertBad(report, 1, /checkpoint signed by unknown key/);
});

test('after a key rotation both keys verify, and the new checkpoints need the new key', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const [oldKey] = await keys.publicKeys('audit-signing');
  const log = await createAuditLog({ store: db.audit, keys, writerId: WRITER, checkpointIntervalMs: HOUR });
  await log.record(makeEvent(0));
  await keys.rotate('audit-signing');
  await log.record(makeEvent(1));
  await log.close();
  const all = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.equal(all.ok, true, JSON.stringify(all.firstBad));
  const oldOnly = await verifyAuditLog({ store: db.audit, publicKeys: [oldKey!], openWriterGraceMs: 0 });
  assertBad(oldOnly, 4, /unknown key/);
});

test('tampering in one writer names that writer; the other still verifies', async (t) => {
  const first = await closedLog(t, 'w-a');
  const log = await closedLog(t, WRITER, first);
  tamper(log.url, (raw) => {
    raw.prepare('DELETE FROM audit_log WHERE writer_id = ? AND seq = 9').run(WRITER);
  });
  const report = await log.verify();
  assertBad(report, 10, /seq gap/);
  assert.deepEqual(
    report.writers.map((w) => [w.writerId, w.status]),
    [
      ['w-a', 'closed'],
      [WRITER, 'bad'],
    ],
  );
});
