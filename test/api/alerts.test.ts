/**
 * Stored alerts over HTTP (docs/audit.md "Alerts"): what the `store` sink
 * keeps, admins and auditors list newest first, filter by kind, severity
 * and time and page through; other roles 403, no token 401; strict query
 * strings; each listing audited by parameter names; no PHI in any answer.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEvent } from '../../src/audit/event.js';
import type { Alert, AlertKind, AlertSeverity } from '../../src/storage/alerts.js';
import { createAlertStoreSink } from '../../src/monitoring/api/store-sink.js';
import { encodeCursor } from '../../src/http/cursor.js';
import { build, type TestApp } from '../helpers/app.js';
import { postgresSkip } from '../helpers/database.js';

const env = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };
const api = '/api/v1/alerts';
const marker = 'Zqxalertmarker';

interface Page {
  alerts: Alert[];
  next: string | null;
}

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function alert(minute: number, kind: AlertKind, severity: AlertSeverity): Alert {
  return {
    id: randomBytes(16).toString('hex'),
    kind,
    severity,
    time: new Date(Date.UTC(2026, 5, 1, 8, minute)).toISOString(),
    subject: 'test-clinician',
    sourceIp: '198.51.100.4',
    summary: 'Distinct patients read in the window exceeded the threshold (31 > 30)',
    details: { distinctPatients: 31, threshold: 30 },
    requestIds: [randomBytes(16).toString('hex')],
  };
}

async function get(h: TestApp, url: string, token?: string): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'GET', url, ...(token !== undefined && { headers: auth(token) }) });
}

async function list(h: TestApp, url: string, token: string): Promise<Page> {
  const res = await get(h, url, token);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.ok(!res.body.includes(marker), 'no PHI in an alerts answer');
  return res.json<Page>();
}

function assertEnvelope(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json<{ error: { code: string } }>().error.code, code);
}

/** Six alerts delivered through the `store` sink, returned newest first; plus a patient carrying the marker. */
async function seed(h: TestApp): Promise<Alert[]> {
  const clinician = await h.token('clinician');
  const created = await h.app.inject({
    method: 'POST',
    url: '/api/v1/patients',
    headers: auth(clinician),
    payload: { resourceType: 'Patient', name: [{ family: marker }], birthDate: '1990-02-03' },
  });
  assert.equal(created.statusCode, 201);
  const sink = createAlertStoreSink(h.db.alerts);
  assert.equal(sink.name, 'store');
  const alerts = [
    alert(1, 'failed_login_burst_ip', 'medium'),
    alert(2, 'patient_snooping', 'high'),
    alert(3, 'bulk_read', 'high'),
    alert(4, 'repeated_forbidden', 'low'),
    alert(5, 'patient_snooping', 'critical'),
    alert(5, 'integrity_error', 'critical'),
  ];
  for (const each of alerts) await sink.deliver(each);
  await sink.deliver(alerts[0]!); // a retried delivery is not a second alert
  return alerts.sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1));
}

const idsOf = (alerts: readonly Alert[]): string[] => alerts.map((a) => a.id);

test('alerts delivered to the store sink are listed newest first and filtered', async (t) => {
  const h = await build(t, { env });
  const stored = await seed(h);
  const auditor = await h.token('auditor');
  const all = await list(h, api, auditor);
  assert.deepEqual(all.alerts, stored);
  assert.equal(all.next, null);
  assert.deepEqual(
    idsOf((await list(h, `${api}?kind=patient_snooping`, auditor)).alerts),
    idsOf(stored.filter((a) => a.kind === 'patient_snooping')),
  );
  assert.deepEqual(
    idsOf((await list(h, `${api}?severity=critical`, auditor)).alerts),
    idsOf(stored.filter((a) => a.severity === 'critical')),
  );
  assert.deepEqual(
    idsOf((await list(h, `${api}?kind=patient_snooping&severity=high`, auditor)).alerts),
    idsOf(stored.filter((a) => a.kind === 'patient_snooping' && a.severity === 'high')),
  );
  const window = await list(h, `${api}?since=2026-06-01T08:02:00Z&until=2026-06-01T10:04:00%2B02:00`, auditor);
  assert.deepEqual(
    idsOf(window.alerts),
    idsOf(stored.filter((a) => a.time >= '2026-06-01T08:02' && a.time < '2026-06-01T08:04')),
  );
  assert.deepEqual((await list(h, `${api}?kind=new_network`, auditor)).alerts, []);
  assert.deepEqual((await list(h, `${api}?until=2026-06-01`, auditor)).alerts, []);
});

test('paging through alerts follows next links without gaps or duplicates', async (t) => {
  const h = await build(t, { env });
  const stored = await seed(h);
  const admin = await h.token('admin');
  const seen: Alert[] = [];
  let url: string | null = `${api}?_count=2`;
  let pages = 0;
  while (url !== null) {
    const got: Page = await list(h, url, admin);
    seen.push(...got.alerts);
    url = got.next;
    pages += 1;
  }
  assert.equal(pages, 3, 'a full last page links to no empty one');
  assert.deepEqual(idsOf(seen), idsOf(stored));
  const filtered = await list(h, `${api}?severity=critical&_count=1`, admin);
  assert.match(filtered.next ?? '', /^\/api\/v1\/alerts\?severity=critical&_count=1&_cursor=[A-Za-z0-9_-]+$/);
  assert.deepEqual(idsOf((await list(h, filtered.next!, admin)).alerts), [stored[1]!.id]);
});

test('alerts: forged cursors, unknown parameters, bad kinds and dates answer 400; other roles 403; no token 401', async (t) => {
  const h = await build(t, { env });
  await seed(h);
  const auditor = await h.token('auditor');
  for (const cursor of [
    encodeCursor('2026-06-01T08:00:00.000Z|nothex'),
    encodeCursor("x' OR 1=1"),
    encodeCursor('2026-06-01T08:00:00.000Z|w-1|5'),
    'AAAA',
  ]) {
    assertEnvelope(await get(h, `${api}?_cursor=${cursor}`, auditor), 400, 'VALIDATION_ERROR');
  }
  for (const query of [
    'severity=urgent',
    'kind=Bulk%20Read',
    'kind=a&kind=b',
    'subject=x',
    'since=2026-02-30',
    'since=2026-06-02&until=2026-06-01',
    '_count=0',
  ]) {
    assertEnvelope(await get(h, `${api}?${query}`, auditor), 400, 'VALIDATION_ERROR');
  }
  for (const role of ['clinician', 'nurse', 'billing', 'device'] as const)
    assertEnvelope(await get(h, api, await h.token(role)), 403, 'FORBIDDEN');
  assertEnvelope(await get(h, api), 401, 'AUTH_ERROR');
  assertEnvelope(await h.app.inject({ method: 'DELETE', url: api, headers: auth(auditor) }), 405, 'METHOD_NOT_ALLOWED');
});

test('listing alerts is itself audited by parameter names, never values', async (t) => {
  const h = await build(t, { env });
  await seed(h);
  const res = await get(h, `${api}?kind=bulk_read&severity=high&_count=3`, await h.token('auditor'));
  assert.equal(res.statusCode, 200);
  const rows = await h.db.audit.search({ requestId: String(res.headers['x-request-id']), limit: 2 });
  assert.equal(rows.length, 1);
  const event = JSON.parse(rows[0]!.payload) as AuditEvent;
  assert.deepEqual(event.action, {
    interaction: 'search',
    resourceType: 'Alert',
    resourceId: null,
    searchParams: ['kind', 'severity'],
  });
  assert.ok(!rows[0]!.payload.includes('bulk_read'), 'values stay out of the audit event');
});

test('postgres: alerts stored through the sink are listed and paged', { skip: await postgresSkip() }, async (t) => {
  const h = await build(t, { env, database: 'postgres' });
  const stored = await seed(h);
  const auditor = await h.token('auditor');
  const first = await list(h, `${api}?_count=4`, auditor);
  assert.deepEqual(idsOf([...first.alerts, ...(await list(h, first.next!, auditor)).alerts]), idsOf(stored));
  assert.deepEqual(idsOf((await list(h, `${api}?severity=critical`, auditor)).alerts), idsOf(stored.slice(0, 2)));
});
