import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert, AlertKind, AlertSeverity } from '../../src/storage/alerts.js';
import { StorageError } from '../../src/storage/errors.js';
import type { AlertStore } from '../../src/storage/ports.js';
import { withDatabase, type ContractContext } from './fixtures.js';

/** A window of time no other test uses: tests share one store and must not see each other's alerts. */
function uniqueWindow(): { since: string; until: string; at(ms: number): string } {
  const start = Date.UTC(2100 + randomInt(0, 7000), randomInt(0, 12), 1);
  return {
    since: new Date(start).toISOString(),
    until: new Date(start + 86_400_000).toISOString(),
    at: (ms) => new Date(start + ms).toISOString(),
  };
}

function alert(
  time: string,
  kind: AlertKind = 'bulk_read',
  severity: AlertSeverity = 'high',
  id = randomBytes(16).toString('hex'),
): Alert {
  return {
    id,
    kind,
    severity,
    time,
    subject: 'user-7',
    sourceIp: '192.0.2.7',
    summary: 'A fixed sentence with a count: 12 reads over threshold 10',
    details: { count: 12, threshold: 10, windowed: true },
    requestIds: [randomBytes(16).toString('hex')],
  };
}

/** Pages through `list` with `after`, `limit` at a time, as the API does. */
async function pageAll(
  store: AlertStore,
  filter: { since: string; until: string; kind?: string },
  limit: number,
): Promise<Alert[]> {
  const seen: Alert[] = [];
  for (;;) {
    const last = seen.at(-1);
    const page = await store.list({
      ...filter,
      limit,
      ...(last !== undefined && { after: { time: last.time, id: last.id } }),
    });
    seen.push(...page);
    if (page.length < limit) return seen;
  }
}

/** Registers the AlertStore tests. */
export function registerAlertContract(ctx: ContractContext): void {
  test('alerts: stored as given, listed newest first, filtered by kind, severity and time', () =>
    withDatabase(ctx, async (db) => {
      const w = uniqueWindow();
      const a = alert(w.at(1000), 'bulk_read', 'high');
      const b = alert(w.at(2000), 'patient_snooping', 'critical');
      const c = alert(w.at(3000), 'bulk_read', 'medium');
      const outside = alert(w.at(86_400_000), 'bulk_read', 'high');
      for (const each of [b, outside, a, c]) await db.alerts.append(each);
      const window = { since: w.since, until: w.until };
      assert.deepEqual(await db.alerts.list({ ...window, limit: 10 }), [c, b, a]);
      assert.deepEqual(await db.alerts.list({ ...window, kind: 'bulk_read', limit: 10 }), [c, a]);
      assert.deepEqual(await db.alerts.list({ ...window, severity: 'critical', limit: 10 }), [b]);
      assert.deepEqual(await db.alerts.list({ ...window, kind: 'bulk_read', severity: 'medium', limit: 10 }), [c]);
      assert.deepEqual(
        await db.alerts.list({ since: w.at(2000), until: w.at(3000), limit: 10 }),
        [b],
        'since inclusive, until exclusive',
      );
      assert.deepEqual(
        await db.alerts.list({ ...window, kind: "bulk_read' OR '1'='1", limit: 10 }),
        [],
        'values are parameters',
      );
      assert.deepEqual(await db.alerts.list({ ...window, limit: 1 }), [c]);
      assert.deepEqual(await db.alerts.list({ ...window, limit: 0 }), []);
    }));

  test('alerts: paging with `after` visits every alert once, ties on time broken by id', () =>
    withDatabase(ctx, async (db) => {
      const w = uniqueWindow();
      const stored = Array.from({ length: 23 }, (_, i) => alert(w.at(Math.floor(i / 3) * 1000)));
      for (const each of stored) await db.alerts.append(each);
      const expected = [...stored].sort((x, y) =>
        x.time === y.time ? (x.id < y.id ? 1 : -1) : x.time < y.time ? 1 : -1,
      );
      for (const limit of [1, 4, 23, 50])
        assert.deepEqual(
          await pageAll(db.alerts, { since: w.since, until: w.until }, limit),
          expected,
          `limit ${limit}`,
        );
    }));

  test('alerts: a second delivery of the same id is not a second alert; times are normalised', () =>
    withDatabase(ctx, async (db) => {
      const w = uniqueWindow();
      const once = alert(w.at(5000));
      await db.alerts.append(once);
      await db.alerts.append(once);
      await db.alerts.append({ ...once, summary: 'changed' });
      assert.deepEqual(await db.alerts.list({ since: w.since, until: w.until, limit: 10 }), [once]);
      // An offset time sorts by its instant.
      const offset = alert(w.at(0).replace('T00:00:00.000Z', 'T01:00:00+01:00'));
      await db.alerts.append(offset);
      assert.deepEqual(
        (await db.alerts.list({ since: w.since, until: w.until, limit: 10 })).map((x) => x.id),
        [once.id, offset.id],
      );
    }));

  test('alerts: an alert without a 32-hex id or a valid time is refused without SQL', () =>
    withDatabase(ctx, async (db) => {
      const invalid = (error: unknown) => error instanceof StorageError && error.reason === 'invalid';
      await assert.rejects(
        db.alerts.append({ ...alert(new Date().toISOString()), id: "x'); DROP TABLE alerts; --" }),
        invalid,
      );
      await assert.rejects(db.alerts.append(alert('not a time')), invalid);
      await assert.rejects(db.alerts.list({ limit: -1 }), invalid);
    }));

  test('alerts: UPDATE and DELETE behind the port are refused (append-only)', () =>
    withDatabase(ctx, async (db) => {
      const w = uniqueWindow();
      const kept = alert(w.at(0));
      await db.alerts.append(kept);
      await assert.rejects(ctx.rawExec(`UPDATE alerts SET severity = 'low' WHERE id = '${kept.id}'`), /append-only/);
      await assert.rejects(ctx.rawExec(`DELETE FROM alerts WHERE id = '${kept.id}'`), /append-only/);
      assert.deepEqual(await db.alerts.list({ since: w.since, until: w.until, limit: 10 }), [kept]);
    }));
}
