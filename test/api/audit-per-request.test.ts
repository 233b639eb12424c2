/**
 * The audit layer over HTTP (docs/audit.md, DESIGN.md request path step 7,
 * HIPAA 164.312(b)): exactly one event per request that reaches
 * authentication, durable before the response leaves, failing closed with
 * 503; search events hold parameter names and result ids, never values or
 * tokens; the log a real workload leaves verifies offline, and an edited row
 * is named.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { canonicalJson } from '../../src/audit/canonical.js';
import type { AuditEvent, AuditLog } from '../../src/audit/event.js';
import { verifyAuditLog, type VerifyReport } from '../../src/audit/verify.js';
import type { AuditRow } from '../../src/storage/ports.js';
import { sqliteAuditFile } from '../../src/storage/sqlite/connection.js';
import { build, type TestApp } from '../helpers/app.js';

/** No timed checkpoint lands in the middle of a test: every row is one the test caused. */
const env = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };
const base = '/api/v1/patients';
const marker = 'Zqxmarker';
const jwtPattern = /eyJ[A-Za-z0-9_-]{10,}/;
/** Every event of this file is dated after this instant (less a second for rounding) and not in the future. */
const loadedAt = Date.now();

type Reply = LightMyRequestResponse;

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function patientBody(family: string): Record<string, unknown> {
  return { resourceType: 'Patient', name: [{ family, given: ['Ann'] }], birthDate: '1974-12-25', gender: 'female' };
}

async function createPatient(h: TestApp, token: string, family = 'Durand'): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: base, headers: auth(token), payload: patientBody(family) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

function requestIdOf(res: Reply): string {
  const id = res.headers['x-request-id'];
  assert.equal(typeof id, 'string');
  assert.match(String(id), /^[0-9a-f]{32}$/);
  return String(id);
}

/** The envelope's code, or null for a success (what the event's outcome.code must be). */
function codeOf(res: Reply): string | null {
  if (res.statusCode < 400) return null;
  const body = res.json<{ error: { code: string; requestId: string } }>();
  assert.equal(body.error.requestId, requestIdOf(res));
  return body.error.code;
}

/** Every row of the app's writer, read back through the audit port right now (no close, no flush). */
async function rowsOf(h: TestApp): Promise<AuditRow[]> {
  return h.db.audit.read({ writerId: h.audit.writerId, limit: 100_000 });
}

async function eventsOf(h: TestApp): Promise<AuditEvent[]> {
  return (await rowsOf(h)).filter((row) => row.kind === 'event').map((row) => JSON.parse(row.payload) as AuditEvent);
}

/** The one event of a response, checked whole: who, what, outcome from the response, requestId, time. */
async function assertEvent(h: TestApp, res: Reply, expected: Pick<AuditEvent, 'actor' | 'action'>): Promise<void> {
  const requestId = requestIdOf(res);
  const matching = (await eventsOf(h)).filter((event) => event.requestId === requestId);
  assert.equal(matching.length, 1, `events for request ${requestId}`);
  const [event] = matching;
  assert.ok(event !== undefined);
  assert.ok(Date.parse(event.time) >= loadedAt - 1000 && Date.parse(event.time) <= Date.now(), event.time);
  assert.equal(new Date(event.time).toISOString(), event.time);
  assert.deepEqual(event, {
    time: event.time,
    requestId,
    category: 'api',
    ...expected,
    outcome: { status: res.statusCode, code: codeOf(res) },
  });
}

function actor(role: string | null, subject = role === null ? null : `test-${role}`): AuditEvent['actor'] {
  return { subject, client: role === null ? null : 'test-client', role, sourceIp: '127.0.0.1' };
}

function action(
  interaction: string,
  resourceId: string | null,
  extra: Partial<AuditEvent['action']> = {},
): AuditEvent['action'] {
  return { interaction, resourceType: 'Patient', resourceId, ...extra };
}

function verify(h: TestApp, openWriterGraceMs: number): Promise<VerifyReport> {
  return h.keys
    .publicKeys('audit-signing')
    .then((publicKeys) => verifyAuditLog({ store: h.db.audit, publicKeys, openWriterGraceMs }));
}

/** The real audit log, whose record() rejects (the store is full, say) while `state.failing` is set. */
function failingWhen(state: { failing: boolean }): (audit: AuditLog) => AuditLog {
  return (audit) => ({
    record: (event) => (state.failing ? Promise.reject(new Error('disk full')) : audit.record(event)),
    checkpoint: () => audit.checkpoint(),
    close: () => audit.close(),
  });
}

test('exactly one event per request that reaches authentication, matching the response', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const admin = await h.token('admin');
  const billing = await h.token('billing');
  let requests = 0;
  const send = async (options: InjectOptions): Promise<Reply> => {
    requests += 1;
    return h.app.inject(options);
  };

  const created = await send({ method: 'POST', url: base, headers: auth(clinician), payload: patientBody('Durand') });
  assert.equal(created.statusCode, 201);
  const id = created.json<{ id: string }>().id;
  await assertEvent(h, created, { actor: actor('clinician'), action: action('create', id) });

  const read = await send({ method: 'GET', url: `${base}/${id}`, headers: auth(clinician) });
  assert.equal(read.statusCode, 200);
  await assertEvent(h, read, { actor: actor('clinician'), action: action('read', id) });

  const stale = await send({
    method: 'PUT',
    url: `${base}/${id}`,
    headers: { ...auth(clinician), 'if-match': 'W/"9"' },
    payload: { ...patientBody('Durand'), id },
  });
  assert.equal(stale.statusCode, 412);
  assert.equal(codeOf(stale), 'PRECONDITION_FAILED');
  await assertEvent(h, stale, { actor: actor('clinician'), action: action('update', id) });

  const invalid = await send({
    method: 'POST',
    url: base,
    headers: auth(clinician),
    payload: { resourceType: 'Patient', gender: 'robot' },
  });
  assert.equal(invalid.statusCode, 400);
  assert.equal(codeOf(invalid), 'VALIDATION_ERROR');
  await assertEvent(h, invalid, { actor: actor('clinician'), action: action('create', null) });

  // An admin: a clinician reaches only assigned patients, and an unknown id answers it 403 (docs/access-control.md).
  const unknown = await send({ method: 'GET', url: `${base}/no-such-patient`, headers: auth(admin) });
  assert.equal(unknown.statusCode, 404);
  assert.equal(codeOf(unknown), 'NOT_FOUND');
  await assertEvent(h, unknown, { actor: actor('admin'), action: action('read', 'no-such-patient') });

  const denied = await send({ method: 'DELETE', url: `${base}/${id}`, headers: auth(billing) });
  assert.equal(denied.statusCode, 403);
  assert.equal(codeOf(denied), 'FORBIDDEN');
  await assertEvent(h, denied, { actor: actor('billing'), action: action('delete', id) });

  const anonymous = await send({ method: 'GET', url: `${base}/${id}` });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(codeOf(anonymous), 'AUTH_ERROR');
  await assertEvent(h, anonymous, { actor: actor(null), action: action('read', id) });

  // Another token's signature on this token's header and claims: a forgery.
  const [head = '', claims = ''] = clinician.split('.');
  const forged = `${head}.${claims}.${admin.split('.')[2] ?? ''}`;
  const badToken = await send({ method: 'GET', url: `${base}/${id}`, headers: auth(forged) });
  assert.equal(badToken.statusCode, 401);
  assert.equal(codeOf(badToken), 'AUTH_ERROR');
  // No actor (nothing was verified), but the subject the forgery claimed, for per-account burst detection.
  await assertEvent(h, badToken, {
    actor: actor(null),
    action: action('read', id, { details: { authFailure: 'bad_signature', claimedSubject: 'test-clinician' } }),
  });

  const garbage = await send({ method: 'GET', url: `${base}/${id}`, headers: auth('not.a.token') });
  assert.equal(garbage.statusCode, 401);
  await assertEvent(h, garbage, {
    actor: actor(null),
    action: action('read', id, { details: { authFailure: 'malformed' } }),
  });

  const deleted = await send({ method: 'DELETE', url: `${base}/${id}`, headers: auth(admin) });
  assert.equal(deleted.statusCode, 204);
  await assertEvent(h, deleted, { actor: actor('admin'), action: action('delete', id) });

  const events = await eventsOf(h);
  assert.equal(events.length, requests);
  assert.equal(new Set(events.map((event) => event.requestId)).size, requests);
  const stored = JSON.stringify(await rowsOf(h));
  for (const secret of [clinician, admin, billing, forged, ...forged.split('.')])
    assert.equal(stored.includes(secret), false);
  assert.doesNotMatch(stored, jwtPattern);
});

test('a search event lists parameter names and returned ids; no value or token is stored', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const first = await createPatient(h, clinician, marker);
  const second = await createPatient(h, clinician, marker);
  await createPatient(h, clinician, 'Durand');

  const res = await h.app.inject({
    method: 'GET',
    url: `${base}?family=${marker}&birthdate=1974-12-25`,
    headers: auth(clinician),
  });
  assert.equal(res.statusCode, 200);
  const ids = res.json<{ entry: { resource: { id: string } }[] }>().entry.map((entry) => entry.resource.id);
  assert.deepEqual([...ids].sort(), [first, second].sort());
  // routes.ts sorts the names, so the event does not depend on the URL's parameter order.
  await assertEvent(h, res, {
    actor: actor('clinician'),
    action: action('search', null, { searchParams: ['birthdate', 'family'], resultIds: ids }),
  });

  const none = await h.app.inject({ method: 'GET', url: `${base}?name=${marker}x`, headers: auth(clinician) });
  assert.equal(none.statusCode, 200);
  await assertEvent(h, none, {
    actor: actor('clinician'),
    action: action('search', null, { searchParams: ['name'], resultIds: [] }),
  });

  const refused = await h.app.inject({
    method: 'GET',
    url: `${base}?family=${marker}&nonsense=${marker}`,
    headers: auth(clinician),
  });
  assert.equal(refused.statusCode, 400);
  assert.equal(codeOf(refused), 'VALIDATION_ERROR');
  await assertEvent(h, refused, { actor: actor('clinician'), action: action('search', null) });

  const rows = await rowsOf(h);
  assert.equal(rows.filter((row) => row.kind === 'event').length, 6);
  const stored = JSON.stringify(rows);
  assert.doesNotMatch(stored, new RegExp(marker, 'i'));
  // The searched year, standing alone: not inside a hash, a request id or a UUID, whose random hex may hold "1974".
  assert.doesNotMatch(stored, /(?<![0-9a-f-])1974(?![0-9a-f])/);
  assert.equal(stored.includes(clinician), false);
  assert.doesNotMatch(stored, jwtPattern);
  // The bytes on disk too (database file and its WAL), not only what the port returns.
  const file = sqliteAuditFile(h.databaseUrl);
  assert.ok((await readFile(file)).length > 0, 'the audit file exists where build(t) opened it');
  for (const name of [file, `${file}-wal`]) {
    const bytes = await readFile(name).catch(() => Buffer.alloc(0));
    assert.equal(bytes.toString('latin1').toLowerCase().includes(marker.toLowerCase()), false, name);
    assert.equal(bytes.includes(clinician), false, name);
  }
});

test('a path id that fails validation is not stored verbatim in the event', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const res = await h.app.inject({ method: 'GET', url: `${base}/${marker}%20Ann%201974`, headers: auth(clinician) });
  assert.equal(res.statusCode, 400);
  assert.equal(codeOf(res), 'VALIDATION_ERROR');
  await assertEvent(h, res, { actor: actor('clinician'), action: action('read', null) });
  assert.doesNotMatch(JSON.stringify(await rowsOf(h)), new RegExp(marker, 'i'));
});

test('no event for requests that never reach authentication: /health, /ready, unknown paths, 405', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const id = await createPatient(h, clinician);
  const before = (await eventsOf(h)).length;
  assert.equal(before, 1);

  const unaudited: [string, string, number, Record<string, string>][] = [
    ['GET', '/health', 200, {}],
    ['GET', '/ready', 200, {}],
    ['GET', '/nope', 404, {}],
    ['GET', '/nope', 404, auth(clinician)],
    ['GET', `${base}/${id}/nope`, 404, auth(clinician)],
    ['PATCH', `${base}/${id}`, 405, auth(clinician)],
    ['DELETE', base, 405, {}],
    ['PUT', `${base}/${id}/_history`, 405, auth('not-a-token')],
  ];
  for (const [method, url, status, headers] of unaudited) {
    const res = await h.app.inject({ method: method as 'GET', url, headers });
    assert.equal(res.statusCode, status, `${method} ${url}`);
    requestIdOf(res);
  }
  assert.equal((await eventsOf(h)).length, before);

  // The control: the next request that does reach authentication adds exactly one.
  const read = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(clinician) });
  assert.equal(read.statusCode, 200);
  assert.equal((await eventsOf(h)).length, before + 1);
});

test('an audit write that fails turns a read and a create into 503 SERVICE_UNAVAILABLE', async (t) => {
  const audit = { failing: false };
  const h = await build(t, { env, wrapAudit: failingWhen(audit) });
  const clinician = await h.token('clinician');
  const id = await createPatient(h, clinician);
  const eventsBefore = (await eventsOf(h)).length;
  audit.failing = true;

  const assertFailedClosed = (res: Reply): void => {
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(res.json(), {
      error: {
        code: 'SERVICE_UNAVAILABLE',
        message: res.json<{ error: { message: string } }>().error.message,
        requestId: requestIdOf(res),
      },
    });
    assert.equal(res.headers.etag, undefined);
    assert.equal(res.headers.location, undefined);
    assert.equal(res.body.includes(marker), false);
    assert.equal(res.body.includes(id), false);
  };

  const read = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(clinician) });
  assertFailedClosed(read);
  const created = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth(clinician),
    payload: patientBody(marker),
  });
  assertFailedClosed(created);
  assert.equal((await eventsOf(h)).length, eventsBefore);

  // Observed, and what the code implies: the audit event is written in onSend,
  // after the handler committed the create, so the patient exists although
  // its creator was told 503 and given no Location. A client retrying the
  // 503 creates a second patient; the audit log holds no event for the first.
  audit.failing = false;
  const search = await h.app.inject({ method: 'GET', url: `${base}?family=${marker}`, headers: auth(clinician) });
  assert.equal(search.statusCode, 200);
  assert.equal(search.json<{ entry: unknown[] }>().entry.length, 1);
});

test('a 503 that failed closed carries no Last-Modified of the resource it withheld', async (t) => {
  const audit = { failing: false };
  const h = await build(t, { env, wrapAudit: failingWhen(audit) });
  const clinician = await h.token('clinician');
  const id = await createPatient(h, clinician);
  audit.failing = true;
  const read = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(clinician) });
  assert.equal(read.statusCode, 503);
  assert.equal(read.headers['last-modified'], undefined);
});

test('the event is in the store by the time its response arrives', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const id = await createPatient(h, clinician);
  for (let i = 0; i < 10; i += 1) {
    const res = await h.app.inject({
      method: 'GET',
      url: i % 2 === 0 ? `${base}/${id}` : `${base}/missing-${String(i)}`,
      headers: auth(clinician),
    });
    const requestId = requestIdOf(res);
    // Read at once: no close, no checkpoint, no wait.
    const rows = await h.db.audit.read({ writerId: h.audit.writerId, limit: 100_000 });
    assert.equal(
      rows.filter((row) => row.kind === 'event' && row.payload.includes(`"requestId":"${requestId}"`)).length,
      1,
      `request ${String(i)}`,
    );
    assert.equal(rows.length, 1 + 1 + i + 1);
  }
});

test('a mixed workload leaves an intact log; an edited row is named as the first bad one', async (t) => {
  const h = await build(t, { env });
  const tokens = {
    admin: await h.token('admin'),
    clinician: await h.token('clinician'),
    billing: await h.token('billing'),
    nurse: await h.token('nurse'),
    patient: await h.token('patient', { patient: 'x' }),
  };
  const ids = await Promise.all([1, 2, 3, 4].map(() => createPatient(h, tokens.clinician)));
  const [a = '', b = '', c = '', d = ''] = ids;
  // The nurse updates b below: assigned to it in the store (no request, so the audited count stays as it was).
  await h.db.careTeam.assign({
    id: randomUUID(),
    subject: 'test-nurse',
    patient: b,
    assignedBy: 'test-admin',
    assignedAt: new Date().toISOString(),
  });
  const sequential: Reply[] = [];
  for (const [method, url, token] of [
    ['GET', `${base}/${a}`, tokens.billing],
    ['GET', `${base}?family=durand`, tokens.clinician],
    ['GET', `${base}/${b}/_history`, tokens.clinician],
    ['GET', `${base}/${c}/_history/1`, tokens.clinician],
    ['DELETE', `${base}/${d}`, tokens.admin],
    ['GET', `${base}/${d}`, tokens.admin],
    ['GET', `${base}/${a}`, tokens.patient],
    ['DELETE', `${base}/${a}`, tokens.clinician],
    ['GET', `${base}/${a}`, ''],
    ['GET', '/health', ''],
  ] as const) {
    sequential.push(await h.app.inject({ method, url, headers: token === '' ? {} : auth(token) }));
  }
  assert.deepEqual(
    sequential.map((res) => res.statusCode),
    [200, 200, 200, 200, 204, 410, 403, 403, 401, 200],
  );
  const concurrent = await Promise.all([
    ...ids
      .slice(0, 3)
      .flatMap((id) =>
        [1, 2, 3].map(() => h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(tokens.clinician) })),
      ),
    ...[1, 2].map(() =>
      h.app.inject({ method: 'POST', url: base, headers: auth(tokens.clinician), payload: patientBody('Durand') }),
    ),
    h.app.inject({
      method: 'PUT',
      url: `${base}/${b}`,
      headers: auth(tokens.nurse),
      payload: { ...patientBody('Martin'), id: b },
    }),
    h.app.inject({ method: 'GET', url: `${base}?name=ann`, headers: auth(tokens.billing) }),
    h.app.inject({ method: 'GET', url: '/ready' }),
  ]);
  assert.deepEqual(
    concurrent.map((res) => res.statusCode),
    [...Array<number>(9).fill(200), 201, 201, 200, 200, 200],
  );
  // 4 creates + 9 sequential API requests + 13 concurrent API requests; /health and /ready have none.
  const audited = 4 + 9 + 13;
  assert.equal((await eventsOf(h)).length, audited);

  const live = await verify(h, 60_000);
  assert.equal(live.ok, true, JSON.stringify(live.firstBad));
  assert.deepEqual(live.writers, [{ writerId: h.audit.writerId, rows: 1 + audited, checkpoints: 1, status: 'open' }]);
  await h.audit.close();
  const closed = await verify(h, 0);
  assert.equal(closed.ok, true, JSON.stringify(closed.firstBad));
  assert.deepEqual(closed.writers, [
    { writerId: h.audit.writerId, rows: 2 + audited, checkpoints: 2, status: 'closed' },
  ]);

  // An operator with file access drops the append-only triggers and rewrites one outcome.
  const target = (await rowsOf(h)).find((row) => row.kind === 'event' && row.payload.includes('"status":403'));
  assert.ok(target !== undefined);
  const raw = new BetterSqlite3(sqliteAuditFile(h.databaseUrl));
  try {
    for (const name of raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
      .pluck()
      .all() as string[]) {
      raw.exec(`DROP TRIGGER "${name.replaceAll('"', '""')}"`);
    }
    const event = JSON.parse(target.payload) as { outcome: { status: number; code: string | null } };
    event.outcome = { status: 200, code: null };
    const changed = raw
      .prepare('UPDATE audit_log SET payload = ? WHERE writer_id = ? AND seq = ?')
      .run(canonicalJson(event), target.writerId, target.seq);
    assert.equal(changed.changes, 1);
  } finally {
    raw.close();
  }
  const tampered = await verify(h, 0);
  assert.equal(tampered.ok, false);
  assert.equal(tampered.firstBad?.writerId, h.audit.writerId);
  assert.equal(tampered.firstBad.seq, target.seq);
  assert.match(tampered.firstBad.reason, /hash mismatch/);
});

test('50 concurrent reads: 50 events with 50 distinct request ids, chain intact', async (t) => {
  const h = await build(t, { env });
  const clinician = await h.token('clinician');
  const id = await createPatient(h, clinician);
  const responses = await Promise.all(
    Array.from({ length: 50 }, () => h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(clinician) })),
  );
  assert.deepEqual(new Set(responses.map((res) => res.statusCode)), new Set([200]));
  const requestIds = responses.map(requestIdOf);
  assert.equal(new Set(requestIds).size, 50);
  const reads = (await eventsOf(h)).filter((event) => event.action.interaction === 'read');
  assert.equal(reads.length, 50);
  assert.deepEqual(reads.map((event) => event.requestId).sort(), [...requestIds].sort());
  for (const event of reads) assert.deepEqual(event.outcome, { status: 200, code: null });
  const report = await verify(h, 60_000);
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  assert.deepEqual(report.writers, [{ writerId: h.audit.writerId, rows: 1 + 1 + 50, checkpoints: 1, status: 'open' }]);
});
