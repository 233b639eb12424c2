import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AuditWriteError, createAuditLog } from '../../src/audit/writer.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { chainHash } from '../../src/audit/chain.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { until } from '../helpers/until.js';
import { makeEvent, openAuditDatabase, openTestKeys, payloadOf, readAll, recordingStore } from './fixtures.js';

const HOUR = 3_600_000;

test('events commit in order with contiguous seqs, between the signed open and close checkpoints', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const log = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR });
  assert.match(log.writerId, /^w-[0-9a-f]{16}$/);
  for (let i = 0; i < 5; i += 1) await log.record(makeEvent(i));
  await Promise.all([5, 6, 7, 8, 9].map((i) => log.record(makeEvent(i))));
  await log.close();

  const rows = await readAll(db.audit, log.writerId);
  assert.deepEqual(
    rows.map((row) => row.seq),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    rows.slice(1, 11).map((row) => payloadOf(row).requestId),
    Array.from({ length: 10 }, (_, i) => `req-${i}`),
  );
  const open = payloadOf(rows[0]!);
  assert.equal(rows[0]!.kind, 'checkpoint');
  assert.equal(open.type, 'open');
  assert.equal(open.writerId, log.writerId);
  assert.equal(rows[0]!.prevHash, '');
  const close = payloadOf(rows[11]!);
  assert.equal(close.type, 'close');
  assert.equal(close.seq, 11);
  assert.equal(close.hash, rows[10]!.hash);
  const [current] = await keys.publicKeys('audit-signing');
  assert.equal(close.kid, current!.kid);
  for (const [i, row] of rows.entries()) {
    assert.equal(row.hash, chainHash(row.prevHash, row.payload));
    if (i > 0) assert.equal(row.prevHash, rows[i - 1]!.hash);
  }

  const report = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.equal(report.ok, true);
  assert.equal(report.firstBad, undefined);
  assert.deepEqual(report.writers, [{ writerId: log.writerId, rows: 12, checkpoints: 2, status: 'closed' }]);
});

test('group commit: 100 concurrent records go into one append', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const store = recordingStore(db.audit);
  const log = await createAuditLog({ store, keys, checkpointIntervalMs: HOUR });
  await Promise.all(Array.from({ length: 100 }, (_, i) => log.record(makeEvent(i))));
  await log.close();
  // open, one batch of 100 events, close.
  assert.deepEqual(
    store.batches.map((batch) => batch.length),
    [1, 100, 1],
  );
  const report = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.equal(report.ok, true);
});

test('group commit: maxBatch splits a burst and flushes without waiting for the tick', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const store = recordingStore(db.audit);
  const log = await createAuditLog({ store, keys, checkpointIntervalMs: HOUR, maxBatch: 10 });
  await Promise.all(Array.from({ length: 95 }, (_, i) => log.record(makeEvent(i))));
  await log.close();
  assert.deepEqual(
    store.batches.map((batch) => batch.length),
    [1, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5, 1],
  );
  const rows = await readAll(db.audit, log.writerId);
  assert.deepEqual(
    rows.slice(1, -1).map((row) => payloadOf(row).requestId),
    Array.from({ length: 95 }, (_, i) => `req-${i}`),
  );
});

test('events recorded while an append is in flight form the next batch; one append at a time', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  let release: () => void = () => undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  const store = recordingStore(db.audit, async (call, _rows, append) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (call === 2)
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    await append();
    inFlight -= 1;
  });
  const log = await createAuditLog({ store, keys, checkpointIntervalMs: HOUR });
  const first = log.record(makeEvent(0));
  await until(() => store.batches.length >= 2, 5_000, 'the append of the first event to start');
  let firstDone = false;
  void first.then(() => {
    firstDone = true;
  });
  const later = [1, 2, 3].map((i) => log.record(makeEvent(i)));
  // The writer flushes on setImmediate: a few turns of the loop are when a wrong second append would start.
  for (let turn = 0; turn < 5; turn += 1) await nextTurn();
  assert.equal(firstDone, false, 'record resolves only after its batch commits');
  assert.equal(store.batches.length, 2, 'no second append while one is in flight');
  release();
  await Promise.all([first, ...later]);
  await log.close();
  assert.equal(maxInFlight, 1);
  assert.deepEqual(
    store.batches.map((batch) => batch.length),
    [1, 1, 3, 1],
  );
});

test('a failing append rejects exactly its batch, and the chain continues from the last committed row', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const store = recordingStore(db.audit, async (call, _rows, append) => {
    if (call === 3) throw new Error('disk full');
    await append();
  });
  const log = await createAuditLog({ store, keys, checkpointIntervalMs: HOUR });
  await Promise.all([0, 1].map((i) => log.record(makeEvent(i))));
  const failed = await Promise.allSettled([2, 3, 4].map((i) => log.record(makeEvent(i))));
  for (const outcome of failed) {
    assert.equal(outcome.status, 'rejected');
    assert.ok(outcome.reason instanceof AuditWriteError);
    assert.equal((outcome.reason.cause as Error).message, 'disk full');
  }
  await Promise.all([5, 6].map((i) => log.record(makeEvent(i))));
  await log.close();

  const rows = await readAll(db.audit, log.writerId);
  assert.deepEqual(
    rows.map((row) => row.seq),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    rows.slice(1, 5).map((row) => payloadOf(row).requestId),
    ['req-0', 'req-1', 'req-5', 'req-6'],
  );
  const report = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
});

test('an append that committed but reported failure is adopted, so the next batch does not fork the chain', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const store = recordingStore(db.audit, async (call, _rows, append) => {
    await append();
    if (call === 2) throw new Error('connection lost after COMMIT');
  });
  const log = await createAuditLog({ store, keys, checkpointIntervalMs: HOUR });
  await assert.rejects(log.record(makeEvent(0)), AuditWriteError);
  await log.record(makeEvent(1));
  await log.close();
  const rows = await readAll(db.audit, log.writerId);
  assert.deepEqual(
    rows.map((row) => payloadOf(row).requestId ?? payloadOf(row).type),
    ['open', 'req-0', 'req-1', 'close'],
  );
  const report = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
});

test('an event that is not JSON is rejected alone; the rest of its batch commits', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const log = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR });
  const broken = { ...makeEvent(1), outcome: { status: Number.NaN, code: null } } satisfies AuditEvent;
  const results = await Promise.allSettled([log.record(makeEvent(0)), log.record(broken), log.record(makeEvent(2))]);
  assert.deepEqual(
    results.map((result) => result.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  await log.close();
  const rows = await readAll(db.audit, log.writerId);
  assert.deepEqual(
    rows.slice(1, -1).map((row) => payloadOf(row).requestId),
    ['req-0', 'req-2'],
  );
});

test('two writers interleaving on one database each keep their own chain', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const a = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR, writerId: 'server-a' });
  const b = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR, writerId: 'cli-b' });
  for (let i = 0; i < 10; i += 1) {
    await Promise.all([a.record(makeEvent(i)), b.record(makeEvent(100 + i)), a.record(makeEvent(200 + i))]);
  }
  await Promise.all([a.close(), b.close()]);
  const report = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  assert.deepEqual(
    report.writers.map((w) => [w.writerId, w.rows, w.status]),
    [
      ['cli-b', 12, 'closed'],
      ['server-a', 22, 'closed'],
    ],
  );
});

test('close flushes pending events, writes the close checkpoint, and later writes reject', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const log = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR });
  const pending = log.record(makeEvent(0));
  await log.close();
  await pending;
  await assert.rejects(log.record(makeEvent(1)), AuditWriteError);
  await assert.rejects(log.checkpoint(), AuditWriteError);
  await log.close();
  const rows = await readAll(db.audit, log.writerId);
  assert.deepEqual(
    rows.map((row) => payloadOf(row).requestId ?? payloadOf(row).type),
    ['open', 'req-0', 'close'],
  );
});

test('periodic checkpoints are signed only when events were written since the last one', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  // The checkpoint timer is a fake setInterval, moved by hand (the append itself still runs for real).
  t.mock.timers.enable({ apis: ['setInterval'] });
  const log = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: 15 });
  await log.record(makeEvent(0));
  const kinds = async () => (await readAll(db.audit, log.writerId)).map((row) => payloadOf(row).type ?? 'event');
  t.mock.timers.tick(15);
  await until(async () => (await kinds()).includes('checkpoint'), 5_000, 'the periodic checkpoint');
  assert.deepEqual(await kinds(), ['open', 'event', 'checkpoint']);
  // Five more intervals with nothing new. A tick queues its checkpoint at once, and close() commits
  // everything queued before its own row: a checkpoint signed without new events would show up here.
  t.mock.timers.tick(75);
  await log.close();
  assert.deepEqual(await kinds(), ['open', 'event', 'checkpoint', 'close'], 'no checkpoint without new events');
  const report = await verifyAuditLog({
    store: db.audit,
    publicKeys: await keys.publicKeys('audit-signing'),
    openWriterGraceMs: 0,
  });
  assert.deepEqual(
    report.writers.map((w) => [w.checkpoints, w.status]),
    [[3, 'closed']],
  );
});

test('a live writer is ok within the grace period, and a cut tail once it has passed', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const log = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR });
  await log.record(makeEvent(0));
  await log.record(makeEvent(1));
  const publicKeys = await keys.publicKeys('audit-signing');
  const live = await verifyAuditLog({ store: db.audit, publicKeys, openWriterGraceMs: 60_000 });
  assert.equal(live.ok, true);
  assert.equal(live.writers[0]!.status, 'open');
  const later = await verifyAuditLog({
    store: db.audit,
    publicKeys,
    openWriterGraceMs: 60_000,
    now: new Date(Date.now() + HOUR),
  });
  assert.equal(later.ok, false);
  assert.deepEqual(later.firstBad, {
    writerId: log.writerId,
    seq: 3,
    reason: 'tail cut or writer crashed: 2 rows after last checkpoint',
  });
  await log.close();
});

test('writer options are validated', async (t) => {
  const { db } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  await assert.rejects(createAuditLog({ store: db.audit, keys, checkpointIntervalMs: 0 }), RangeError);
  await assert.rejects(createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR, maxBatch: 0 }), RangeError);
  await assert.rejects(
    createAuditLog({ store: db.audit, keys, checkpointIntervalMs: HOUR, writerId: 'a b' }),
    RangeError,
  );
  assert.deepEqual(await db.audit.writers(), []);
});
