/**
 * NDJSON export of the audit log (docs/audit.md "Querying and export"):
 * every matching event once, newest first, as application/x-ndjson, across
 * many store pages; capped by CADUCEUS_AUDIT_EXPORT_MAX_RECORDS with a
 * `next` line that resumes where the cap cut; audited like any search.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { canonicalJson } from '../../src/audit/canonical.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { auditExportStream } from '../../src/audit/api/export.js';
import type { AuditEventSearch, AuditRow } from '../../src/storage/ports.js';
import { build, type TestApp } from '../helpers/app.js';

const env = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };
const exportUrl = '/api/v1/audit-events/_export';
const marker = 'Zqxexportmarker';

interface Item {
  writerId: string;
  seq: number;
  event: AuditEvent;
}

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** `count` event rows of a writer of their own, for one client, one per millisecond from 2026-05-01. */
async function seed(h: TestApp, client: string, count: number): Promise<AuditRow[]> {
  const writerId = `w-seed-${randomBytes(4).toString('hex')}`;
  const rows = Array.from({ length: count }, (_, i): AuditRow => {
    const time = new Date(Date.UTC(2026, 4, 1) + i).toISOString();
    const event: AuditEvent = {
      time,
      requestId: randomBytes(16).toString('hex'),
      category: 'api',
      actor: { subject: 'user-9', client, role: 'clinician', sourceIp: '192.0.2.9' },
      action: { interaction: 'read', resourceType: 'Patient', resourceId: `p-${i}` },
      outcome: { status: 200, code: null },
    };
    return { writerId, seq: i + 1, time, kind: 'event', payload: canonicalJson(event), prevHash: '', hash: `h${i}` };
  });
  for (let i = 0; i < rows.length; i += 250) await h.db.audit.append(rows.slice(i, i + 250));
  return rows.reverse(); // newest first, as the API answers
}

/** The parsed lines of an NDJSON answer, after checking its framing. */
function lines(res: LightMyRequestResponse): Record<string, unknown>[] {
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/x-ndjson(;|$)/);
  assert.ok(!res.body.includes(marker), 'no PHI in an export');
  if (res.body === '') return [];
  assert.ok(res.body.endsWith('\n'), 'every line ends with a newline');
  return res.body
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const keyOf = (item: Item | AuditRow): string => `${item.writerId}#${item.seq}`;

test('export streams every matching event once, newest first, across many store pages', async (t) => {
  const h = await build(t, { env });
  const client = `client-${randomBytes(4).toString('hex')}`;
  const rows = await seed(h, client, 1234);
  await seed(h, 'someone-else', 20);
  const auditor = await h.token('auditor');
  const res = await h.app.inject({ method: 'GET', url: `${exportUrl}?client=${client}`, headers: auth(auditor) });
  const items = lines(res) as unknown as Item[];
  assert.equal(items.length, 1234);
  assert.deepEqual(items.map(keyOf), rows.map(keyOf));
  assert.deepEqual(items[0]?.event, JSON.parse(rows[0]!.payload));
  const since = rows[99]!.time;
  const filtered = lines(
    await h.app.inject({
      method: 'GET',
      url: `${exportUrl}?client=${client}&since=${since}&resourceId=p-1200`,
      headers: auth(auditor),
    }),
  );
  assert.deepEqual((filtered as unknown as Item[]).map(keyOf), [keyOf(rows[33]!)]);
  assert.deepEqual(
    lines(await h.app.inject({ method: 'GET', url: `${exportUrl}?client=nobody`, headers: auth(auditor) })),
    [],
  );
});

test('export of real traffic: the events of earlier requests, and the export itself is audited', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const created = await h.app.inject({
    method: 'POST',
    url: '/api/v1/patients',
    headers: auth(clinician),
    payload: { resourceType: 'Patient', name: [{ family: marker }], birthDate: '1980-01-01' },
  });
  assert.equal(created.statusCode, 201);
  const searched = await h.app.inject({
    method: 'GET',
    url: `/api/v1/patients?family=${marker}`,
    headers: auth(clinician),
  });
  assert.equal(searched.statusCode, 200);
  const admin = await h.token('admin');
  const res = await h.app.inject({ method: 'GET', url: `${exportUrl}?subject=test-clinician`, headers: auth(admin) });
  const items = lines(res) as unknown as Item[];
  assert.deepEqual(
    items.map((item) => item.event.requestId),
    [searched.headers['x-request-id'], created.headers['x-request-id']],
  );
  const own = await h.db.audit.search({ requestId: String(res.headers['x-request-id']), limit: 2 });
  assert.equal(own.length, 1);
  assert.deepEqual((JSON.parse(own[0]!.payload) as AuditEvent).action, {
    interaction: 'search',
    resourceType: 'AuditEvent',
    resourceId: null,
    searchParams: ['subject'],
  });
});

test('the cap cuts a long export with a next line that resumes without gaps or duplicates', async (t) => {
  const h = await build(t, { env: { ...env, CADUCEUS_AUDIT_EXPORT_MAX_RECORDS: '7' } });
  const client = `client-${randomBytes(4).toString('hex')}`;
  const rows = await seed(h, client, 20);
  const auditor = await h.token('auditor');
  const seen: Item[] = [];
  let url: string | undefined = `${exportUrl}?client=${client}`;
  const sizes: number[] = [];
  while (url !== undefined) {
    const got = lines(await h.app.inject({ method: 'GET', url, headers: auth(auditor) }));
    const last = got.at(-1);
    url = last !== undefined && 'next' in last ? String(last.next) : undefined;
    const events = url === undefined ? got : got.slice(0, -1);
    sizes.push(events.length);
    seen.push(...(events as unknown as Item[]));
  }
  assert.deepEqual(sizes, [7, 7, 6]);
  assert.deepEqual(seen.map(keyOf), rows.map(keyOf));

  // Exactly the cap: no next line.
  const exact = `client-${randomBytes(4).toString('hex')}`;
  await seed(h, exact, 7);
  const all = lines(await h.app.inject({ method: 'GET', url: `${exportUrl}?client=${exact}`, headers: auth(auditor) }));
  assert.equal(all.length, 7);
  assert.ok(all.every((line) => 'event' in line));
});

test('the export is pulled page by page as the reader reads, so memory stays flat', async (t) => {
  const h = await build(t, { env });
  const client = `client-${randomBytes(4).toString('hex')}`;
  await seed(h, client, 3000);
  let queries = 0;
  const counting: AuditEventSearch = {
    search: (query) => {
      queries += 1;
      return h.db.audit.search(query);
    },
  };
  const stream = await auditExportStream({
    search: counting,
    filter: { client },
    maxRecords: 100_000,
    resumeUrl: () => '',
  });
  const reader = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  const first = await reader.next();
  assert.equal(String(first.value).split('\n').length - 1, 500, 'one store page per chunk');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(queries <= 3, `read ahead at most one page (queries: ${queries})`);
  let total = 500;
  for (let next = await reader.next(); next.done !== true; next = await reader.next())
    total += next.value.split('\n').length - 1;
  assert.equal(total, 3000);
  assert.equal(queries, 7, 'six full pages and one that ends the export');
});
