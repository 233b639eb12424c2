import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/audit/canonical.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { StorageError } from '../../src/storage/errors.js';
import type { AuditEventFilter, AuditEventSearch, AuditRow } from '../../src/storage/ports.js';
import { unique, withDatabase, type ContractContext } from './fixtures.js';

type EventFields = {
  subject?: string | null;
  role?: string | null;
  sourceIp?: string;
  interaction?: string;
  resourceType?: string | null;
  resourceId?: string | null;
  status?: number;
  requestId?: string;
};

/** An event row as the writer stores it (canonical JSON payload); `client` keeps each test's rows apart. */
function eventRow(writerId: string, seq: number, time: string, client: string, fields: EventFields = {}): AuditRow {
  const event: AuditEvent = {
    time,
    requestId: fields.requestId ?? `${writerId}-${seq}`,
    category: 'api',
    actor: {
      subject: fields.subject === undefined ? 'user-1' : fields.subject,
      client,
      role: fields.role === undefined ? 'clinician' : fields.role,
      sourceIp: fields.sourceIp ?? '127.0.0.1',
    },
    action: {
      interaction: fields.interaction ?? 'read',
      resourceType: fields.resourceType === undefined ? 'Patient' : fields.resourceType,
      resourceId: fields.resourceId === undefined ? `p-${seq}` : fields.resourceId,
    },
    outcome: { status: fields.status ?? 200, code: null },
  };
  return {
    writerId,
    seq,
    time,
    kind: 'event',
    payload: canonicalJson(event),
    prevHash: `h${seq - 1}`,
    hash: `h${seq}`,
  };
}

function checkpointRow(writerId: string, seq: number, time: string): AuditRow {
  return {
    writerId,
    seq,
    time,
    kind: 'checkpoint',
    payload: canonicalJson({ type: 'checkpoint', writerId, seq }),
    prevHash: `h${seq - 1}`,
    hash: `h${seq}`,
  };
}

const at = (second: number): string => new Date(Date.UTC(2026, 2, 1, 12, 0, second)).toISOString();

/** Every match of a filter, paged with `after` `limit` at a time. */
async function pageAll(store: AuditEventSearch, filter: AuditEventFilter, limit: number): Promise<AuditRow[]> {
  const seen: AuditRow[] = [];
  for (;;) {
    const last = seen.at(-1);
    const page = await store.search({
      ...filter,
      limit,
      ...(last !== undefined && { after: { time: last.time, writerId: last.writerId, seq: last.seq } }),
    });
    seen.push(...page);
    if (page.length < limit) return seen;
  }
}

const ids = (rows: readonly AuditRow[]): string[] => rows.map((row) => `${row.writerId}#${row.seq}`);

/** Registers the read-only audit-event search tests (docs/audit.md "Querying"). */
export function registerAuditQueryContract(ctx: ContractContext): void {
  test('audit search: events only, newest first, each filter alone and together', () =>
    withDatabase(ctx, async (db) => {
      const client = unique('client-');
      const w = unique('wq-');
      const rows = [
        eventRow(w, 1, at(1), client, { subject: 'alice', sourceIp: '10.0.0.1' }),
        eventRow(w, 2, at(2), client, { subject: 'bob', role: 'nurse', interaction: 'search', resourceId: null }),
        checkpointRow(w, 3, at(3)),
        eventRow(w, 4, at(4), client, { subject: 'alice', status: 403, resourceId: 'p-x' }),
        eventRow(w, 5, at(5), client, {
          subject: null,
          role: null,
          resourceType: null,
          resourceId: null,
          status: 401,
          requestId: 'req-five',
        }),
      ];
      await db.audit.append(rows);
      const [e1, e2, , e4, e5] = rows as [AuditRow, AuditRow, AuditRow, AuditRow, AuditRow];
      const search = (filter: AuditEventFilter) => db.audit.search({ client, ...filter, limit: 100 });
      assert.deepEqual(await search({}), [e5, e4, e2, e1]);
      assert.deepEqual(ids(await search({ subject: 'alice' })), ids([e4, e1]));
      assert.deepEqual(ids(await search({ role: 'nurse' })), ids([e2]));
      assert.deepEqual(ids(await search({ sourceIp: '10.0.0.1' })), ids([e1]));
      assert.deepEqual(ids(await search({ interaction: 'search' })), ids([e2]));
      assert.deepEqual(ids(await search({ resourceType: 'Patient' })), ids([e4, e2, e1]));
      assert.deepEqual(ids(await search({ resourceId: 'p-x' })), ids([e4]));
      assert.deepEqual(ids(await search({ status: 403 })), ids([e4]));
      assert.deepEqual(ids(await search({ status: 200 })), ids([e2, e1]));
      assert.deepEqual(ids(await search({ requestId: 'req-five' })), ids([e5]));
      assert.deepEqual(
        ids(await search({ since: at(2), until: at(5) })),
        ids([e4, e2]),
        'since inclusive, until exclusive',
      );
      assert.deepEqual(ids(await search({ subject: 'alice', status: 200 })), ids([e1]));
      assert.deepEqual(await search({ subject: 'nobody' }), []);
      assert.deepEqual(await db.audit.search({ client: unique('other-'), limit: 100 }), []);
    }));

  test('audit search: values are parameters, never SQL', () =>
    withDatabase(ctx, async (db) => {
      const client = unique('client-');
      const w = unique('wq-');
      const odd = 'O\'Brien" OR 1=1 --';
      await db.audit.append([
        eventRow(w, 1, at(1), client, { subject: odd }),
        eventRow(w, 2, at(2), client, { subject: 'x' }),
      ]);
      assert.deepEqual(
        (await db.audit.search({ client, subject: odd, limit: 10 })).map((r) => r.seq),
        [1],
      );
      assert.deepEqual(await db.audit.search({ client, subject: "x' OR '1'='1", limit: 10 }), []);
      assert.deepEqual(await db.audit.search({ client: "' OR 1=1 --", limit: 10 }), []);
    }));

  test('audit search: paging with `after` visits every match once across writers and equal times', () =>
    withDatabase(ctx, async (db) => {
      const client = unique('client-');
      const [wa, wb] = [unique('wa-'), unique('wb-')];
      // Three rows per second, two writers interleaved: ties on time are broken by writer, then seq.
      const a = Array.from({ length: 12 }, (_, i) => eventRow(wa, i + 1, at(Math.floor(i / 2)), client));
      const b = Array.from({ length: 9 }, (_, i) => eventRow(wb, i + 1, at(i), client));
      await db.audit.append(a);
      await db.audit.append(b);
      const expected = [...a, ...b].sort(
        (x, y) =>
          y.time.localeCompare(x.time) ||
          (x.writerId === y.writerId ? y.seq - x.seq : x.writerId < y.writerId ? 1 : -1),
      );
      for (const limit of [1, 5, 21, 100]) {
        const paged = await pageAll(db.audit, { client }, limit);
        assert.deepEqual(ids(paged), ids(expected), `limit ${limit}`);
      }
      const since = await pageAll(db.audit, { client, since: at(3) }, 4);
      assert.deepEqual(ids(since), ids(expected.filter((row) => row.time >= at(3))));
    }));

  test('audit search: a bad limit is refused without SQL', () =>
    withDatabase(ctx, async (db) => {
      await assert.rejects(
        db.audit.search({ limit: -1 }),
        (error: unknown) => error instanceof StorageError && error.reason === 'invalid',
      );
      assert.deepEqual(await db.audit.search({ client: unique('c'), limit: 0 }), []);
    }));
}
