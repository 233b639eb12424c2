/**
 * The audit-events API (docs/audit.md "Querying and export"; HIPAA
 * 164.312(b): audit records are examined): admins and auditors search the
 * events earlier requests left, filter and page them; forged cursors,
 * unknown parameters and bad dates answer 400; other roles 403, no token
 * 401; every query is itself audited by parameter names, never values; no
 * PHI planted in a patient ever shows in an answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEvent } from '../../src/audit/event.js';
import { encodeCursor } from '../../src/http/cursor.js';
import { build, type TestApp } from '../helpers/app.js';
import { postgresSkip } from '../helpers/database.js';

/** No timed checkpoint lands mid-test. */
const env = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };
const api = '/api/v1/audit-events';
/** A PHI stand-in planted in a patient's name and in a search value: it must never come back. */
const marker = 'Zqxauditmarker';

interface Item {
  writerId: string;
  seq: number;
  event: AuditEvent;
}
interface Page {
  events: Item[];
  next: string | null;
}

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function get(h: TestApp, url: string, token?: string): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'GET', url, ...(token !== undefined && { headers: auth(token) }) });
}

async function page(h: TestApp, url: string, token: string): Promise<Page> {
  const res = await get(h, url, token);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.ok(!res.body.includes(marker), 'no PHI in an audit-events answer');
  return res.json<Page>();
}

/** Every event of a search, following `next` links, `_count` at a time. */
async function pageAll(h: TestApp, query: string, token: string, count: number): Promise<Item[]> {
  const items: Item[] = [];
  let url: string | null = `${api}?${query}${query === '' ? '' : '&'}_count=${count}`;
  while (url !== null) {
    const got: Page = await page(h, url, token);
    assert.ok(got.events.length <= count);
    items.push(...got.events);
    url = got.next;
  }
  return items;
}

function requestIdOf(res: LightMyRequestResponse): string {
  return String(res.headers['x-request-id']);
}

function assertEnvelope(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json<{ error: { code: string; requestId: string } }>().error.code, code);
  assert.equal(res.json<{ error: { requestId: string } }>().error.requestId, requestIdOf(res));
}

/** A small workload by a clinician: create, read, a search by the marker, a 403 and a 401. */
interface WorkloadIds {
  created: string;
  read: string;
  search: string;
  denied: string;
  anonymous: string;
}

async function workload(h: TestApp): Promise<{ ids: WorkloadIds; patient: string }> {
  const clinician = await h.token('clinician');
  const created = await h.app.inject({
    method: 'POST',
    url: '/api/v1/patients',
    headers: auth(clinician),
    payload: { resourceType: 'Patient', name: [{ family: marker, given: ['Ann'] }], birthDate: '1974-12-25' },
  });
  assert.equal(created.statusCode, 201);
  const patient = created.json<{ id: string }>().id;
  const read = await get(h, `/api/v1/patients/${patient}`, clinician);
  const search = await get(h, `/api/v1/patients?family=${marker}`, clinician);
  const denied = await h.app.inject({ method: 'DELETE', url: `/api/v1/patients/${patient}`, headers: auth(clinician) });
  assert.equal(denied.statusCode, 403);
  const anonymous = await get(h, `/api/v1/patients/${patient}`);
  assert.equal(anonymous.statusCode, 401);
  const ids: WorkloadIds = {
    created: requestIdOf(created),
    read: requestIdOf(read),
    search: requestIdOf(search),
    denied: requestIdOf(denied),
    anonymous: requestIdOf(anonymous),
  };
  return { ids, patient };
}

test('an auditor lists the events of earlier requests, newest first, and filters them', async (t) => {
  const h = await build(t, { env });
  const { ids, patient } = await workload(h);
  const auditor = await h.token('auditor');

  const all = await page(h, `${api}?_count=100`, auditor);
  const byRequest = new Map(all.events.map((item) => [item.event.requestId, item]));
  for (const id of Object.values(ids) as string[]) assert.ok(byRequest.has(id), `event of request ${id}`);
  assert.equal(all.events[0]?.event.requestId, ids.anonymous, 'newest first');
  assert.deepEqual(byRequest.get(ids.created)?.event.action, {
    interaction: 'create',
    resourceType: 'Patient',
    resourceId: patient,
  });
  assert.equal(byRequest.get(ids.created)?.writerId, h.audit.writerId);
  assert.deepEqual(byRequest.get(ids.search)?.event.action.searchParams, ['family']);
  assert.equal(all.next, null);

  const requestIds = (got: Page) => got.events.map((item) => item.event.requestId);
  assert.deepEqual(requestIds(await page(h, `${api}?requestId=${ids.read}`, auditor)), [ids.read]);
  assert.deepEqual(requestIds(await page(h, `${api}?status=403`, auditor)), [ids.denied]);
  assert.deepEqual(requestIds(await page(h, `${api}?status=401&resourceType=Patient`, auditor)), [ids.anonymous]);
  assert.deepEqual(requestIds(await page(h, `${api}?subject=test-clinician&interaction=read`, auditor)), [ids.read]);
  assert.deepEqual(
    requestIds(await page(h, `${api}?resourceId=${patient}&role=clinician&client=test-client`, auditor)),
    [ids.denied, ids.read, ids.created],
  );
  assert.deepEqual(
    requestIds(await page(h, `${api}?sourceIp=127.0.0.1&interaction=search&resourceType=Patient`, auditor)),
    [ids.search],
  );
  assert.deepEqual((await page(h, `${api}?subject=nobody`, auditor)).events, []);

  const from = byRequest.get(ids.created)!.event.time;
  const to = new Date(Date.parse(byRequest.get(ids.read)!.event.time) + 1).toISOString();
  const inWindow = all.events.filter(
    (item) => item.event.actor.subject === 'test-clinician' && item.event.time >= from && item.event.time < to,
  );
  assert.ok(inWindow.length >= 2);
  const window = await page(h, `${api}?since=${from}&until=${to}&subject=test-clinician`, auditor);
  assert.deepEqual(
    requestIds(window),
    inWindow.map((item) => item.event.requestId),
    'since inclusive, until exclusive',
  );
  assert.deepEqual((await page(h, `${api}?until=2000-01-01`, auditor)).events, []);
  assert.equal(
    (await page(h, `${api}?since=2000-01-01T00:00:00%2B02:00&subject=test-clinician`, auditor)).events.length,
    4,
  );
});

test('paging follows next links without gaps or duplicates while new events arrive', async (t) => {
  const h = await build(t, { env });
  await workload(h);
  await workload(h);
  const admin = await h.token('admin');
  const snapshot = await h.db.audit.search({ limit: 1000 });
  assert.equal(snapshot.length, 10);
  // Each page request adds an event of its own, newer than every page: none of them shows up.
  const paged = await pageAll(h, '', admin, 3);
  assert.deepEqual(
    paged.map((item) => `${item.writerId}#${item.seq}`),
    snapshot.map((row) => `${row.writerId}#${row.seq}`),
  );
  const clinicianOnly = await pageAll(h, 'subject=test-clinician', admin, 2);
  assert.equal(clinicianOnly.length, 8);
  assert.equal(new Set(clinicianOnly.map((item) => item.event.requestId)).size, 8);
  const first = await page(h, `${api}?subject=test-clinician&_count=2`, admin);
  assert.match(first.next ?? '', /^\/api\/v1\/audit-events\?subject=test-clinician&_count=2&_cursor=[A-Za-z0-9_-]+$/);
});

test('forged cursors, unknown or repeated parameters and bad dates answer 400 in the envelope', async (t) => {
  const h = await build(t, { env });
  await workload(h);
  const auditor = await h.token('auditor');
  const real = (await page(h, `${api}?_count=1`, auditor)).next!;
  const realCursor = new URL(real, 'https://x').searchParams.get('_cursor')!;
  const forged = [
    encodeCursor("2025-01-01T00:00:00.000Z|w' OR 1=1 --|1"),
    encodeCursor('2025-01-01T00:00:00.000Z|w-1|0'),
    encodeCursor('not-a-position'),
    encodeCursor(`2025-01-01T00:00:00.000Z|${'0'.repeat(32)}`),
    `${realCursor}A`,
    'AAAA',
  ];
  for (const cursor of forged)
    assertEnvelope(await get(h, `${api}?_cursor=${cursor}`, auditor), 400, 'VALIDATION_ERROR');
  for (const query of [
    'patient=1',
    'subject=a&subject=b',
    '_count=0',
    '_count=101',
    'status=abc',
    'status=42',
    'since=2024-02-30',
    'since=2024-01-01T10:00:00',
    'until=yesterday',
    'since=2025-01-02&until=2025-01-01',
    'role=Admin',
    'sourceIp=%3Cscript%3E',
    `_cursor=${'A'.repeat(401)}`,
  ]) {
    const res = await get(h, `${api}?${query}`, auditor);
    assertEnvelope(res, 400, 'VALIDATION_ERROR');
    assert.ok(!res.body.includes('script') && !res.body.includes('yesterday'), 'no input echoed');
  }
  assertEnvelope(await get(h, `${api}/_export?_count=5`, auditor), 400, 'VALIDATION_ERROR');
});

test('only admins and auditors reach the audit log: other roles 403, no token 401, other methods 405', async (t) => {
  const h = await build(t, { env });
  for (const role of ['clinician', 'nurse', 'billing', 'patient', 'device'] as const) {
    const token = await h.token(role, role === 'patient' ? { patient: 'p1' } : {});
    assertEnvelope(await get(h, api, token), 403, 'FORBIDDEN');
    assertEnvelope(await get(h, `${api}/_export`, token), 403, 'FORBIDDEN');
  }
  assertEnvelope(await get(h, api), 401, 'AUTH_ERROR');
  assertEnvelope(await get(h, `${api}/_export`), 401, 'AUTH_ERROR');
  assertEnvelope(
    await h.app.inject({ method: 'POST', url: api, headers: auth(await h.token('auditor')), payload: {} }),
    405,
    'METHOD_NOT_ALLOWED',
  );
  assert.equal((await get(h, api, await h.token('admin'))).statusCode, 200);
});

test('each query of the audit log is itself audited, with parameter names and never their values', async (t) => {
  const h = await build(t, { env });
  const auditor = await h.token('auditor');
  const res = await get(h, `${api}?subject=${marker}&status=200&_count=5`, auditor);
  assert.equal(res.statusCode, 200);
  const denied = await get(h, `${api}?subject=${marker}`, await h.token('clinician'));
  assert.equal(denied.statusCode, 403);
  const rows = await h.db.audit.search({ requestId: requestIdOf(res), limit: 5 });
  assert.equal(rows.length, 1);
  const event = JSON.parse(rows[0]!.payload) as AuditEvent;
  assert.deepEqual(event.action, {
    interaction: 'search',
    resourceType: 'AuditEvent',
    resourceId: null,
    searchParams: ['status', 'subject'],
  });
  assert.deepEqual(
    { subject: event.actor.subject, role: event.actor.role, status: event.outcome.status },
    { subject: 'test-auditor', role: 'auditor', status: 200 },
  );
  const deniedRows = await h.db.audit.search({ requestId: requestIdOf(denied), limit: 5 });
  assert.deepEqual(
    deniedRows.map((row) => (JSON.parse(row.payload) as AuditEvent).outcome),
    [{ status: 403, code: 'FORBIDDEN' }],
  );
  for (const row of [...rows, ...deniedRows])
    assert.ok(!row.payload.includes(marker), 'search values are never audited');
  // And the auditor sees it through the API too.
  const seen = await page(h, `${api}?requestId=${requestIdOf(res)}`, auditor);
  assert.deepEqual(
    seen.events.map((item) => item.event.action.resourceType),
    ['AuditEvent'],
  );
});

test(
  'postgres: the auditor lists, filters and pages the audit log of a PostgreSQL deployment',
  { skip: await postgresSkip() },
  async (t) => {
    const h = await build(t, { env, database: 'postgres' });
    const { ids, patient } = await workload(h);
    const auditor = await h.token('auditor');
    const items = await pageAll(h, `resourceId=${patient}`, auditor, 1);
    assert.deepEqual(
      items.map((item) => item.event.requestId),
      [ids.anonymous, ids.denied, ids.read, ids.created],
    );
    assert.deepEqual(
      (await page(h, `${api}?status=401`, auditor)).events.map((item) => item.event.requestId),
      [ids.anonymous],
    );
    assertEnvelope(await get(h, `${api}?_cursor=${encodeCursor('x|y|1')}`, auditor), 400, 'VALIDATION_ERROR');
    const exported = await get(h, `${api}/_export?subject=test-clinician`, auditor);
    assert.equal(exported.statusCode, 200);
    assert.match(String(exported.headers['content-type']), /^application\/x-ndjson/);
    const expected = (await h.db.audit.search({ subject: 'test-clinician', limit: 10 })).map(
      (row) => (JSON.parse(row.payload) as AuditEvent).requestId,
    );
    assert.equal(expected.length, 4);
    assert.deepEqual(
      exported.body
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as Item).event.requestId),
      expected,
    );
    assert.ok(!exported.body.includes(marker));
  },
);
