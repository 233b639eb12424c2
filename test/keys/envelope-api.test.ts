/**
 * Envelope encryption over HTTP (docs/key-management.md): every body is
 * sealed on disk; a ciphertext moved, truncated or altered answers 500
 * without detail, is audited and raises `integrity.error`; records survive
 * a KEK rotation; the data-key cache stays bounded; a slow key manager
 * answers 503 through the `key-manager` breaker instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import BetterSqlite3 from 'better-sqlite3';
import type { AuditEvent } from '../../src/audit/event.js';
import { build, type TestApp } from '../helpers/app.js';

const base = '/api/v1/patients';
const marker = 'Qzxencmarker';

interface Envelope {
  error: { code: string; message: string; requestId: string };
}

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function patient(family: string): Record<string, unknown> {
  return { resourceType: 'Patient', name: [{ family, given: ['Ann'] }], gender: 'female', birthDate: '1974-12-25' };
}

async function create(h: TestApp, token: string, family: string): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: base, headers: auth(token), payload: patient(family) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

/** Runs SQL on a second, raw connection to the app's SQLite file (an attacker or operator with file access). */
function raw<T>(h: TestApp, work: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(h.databaseUrl);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

function bodies(h: TestApp): Buffer[] {
  return raw(
    h,
    (db) => db.prepare('SELECT body FROM resource_versions WHERE body IS NOT NULL').pluck().all() as Buffer[],
  );
}

async function auditEventOf(h: TestApp, res: LightMyRequestResponse): Promise<AuditEvent | undefined> {
  const rows = await h.db.audit.read({ writerId: h.audit.writerId, limit: 100_000 });
  return rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as AuditEvent)
    .find((event) => event.requestId === res.headers['x-request-id']);
}

test('create, read, update and history round-trip, and the stored bodies are sealed: no marker in any resource table', async (t) => {
  const h = await build(t);
  const token = await h.token('clinician');
  const id = await create(h, token, marker);
  const read = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(token) });
  assert.equal(read.statusCode, 200);
  assert.equal(read.json<{ name: { family: string }[] }>().name[0]?.family, marker);
  const updated = await h.app.inject({
    method: 'PUT',
    url: `${base}/${id}`,
    headers: auth(token),
    payload: { ...patient(`${marker}Two`), id },
  });
  assert.equal(updated.statusCode, 200, updated.body);
  const history = await h.app.inject({ method: 'GET', url: `${base}/${id}/_history`, headers: auth(token) });
  assert.deepEqual(
    history
      .json<{ entry: { resource: { name: { family: string }[] } }[] }>()
      .entry.map((entry) => entry.resource.name[0]?.family),
    [`${marker}Two`, marker],
  );
  const v1 = await h.app.inject({ method: 'GET', url: `${base}/${id}/_history/1`, headers: auth(token) });
  assert.equal(v1.json<{ name: { family: string }[] }>().name[0]?.family, marker);

  const stored = bodies(h);
  assert.equal(stored.length, 2);
  for (const body of stored) {
    assert.deepEqual([...body.subarray(0, 3)], [0xca, 0xdc, 0x01], 'magic and format version');
    assert.ok(!body.includes(marker) && !body.includes('Patient') && !body.includes('1974-12-25'));
  }
  const tables = raw(h, (db) =>
    ['resources', 'resource_versions'].map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all())),
  );
  for (const dump of tables) assert.ok(!dump.includes(marker), 'no marker in resources or resource_versions');
  const keys = await h.db.dataKeys.list();
  assert.equal(keys.length, 1, 'one data key, created on first use');
  const [key] = keys;
  assert.ok(key !== undefined);
  assert.equal(key.wrapped.length, 61, 'stored wrapped (version, nonce, key, tag), never 32 raw bytes');
  assert.match(key.kekId, /^local-/);
});

test('CADUCEUS_ENCRYPTION=off stores bodies as they are (so the test above would see a plaintext body)', async (t) => {
  const h = await build(t, { env: { CADUCEUS_ENCRYPTION: 'off' } });
  await create(h, await h.token('clinician'), marker);
  assert.ok(bodies(h).some((body) => body.includes(marker)));
  assert.equal((await h.db.dataKeys.list()).length, 0);
});

test('a sealed body copied to another record, another version, truncated or altered answers 500 without detail, audited, with integrity.error', async (t) => {
  const h = await build(t);
  const token = await h.token('clinician');
  const victim = await create(h, token, `${marker}Victim`);
  const other = await create(h, token, 'Other');
  const updated = await h.app.inject({
    method: 'PUT',
    url: `${base}/${other}`,
    headers: auth(token),
    payload: { ...patient('OtherTwo'), id: other },
  });
  assert.equal(updated.statusCode, 200);

  const tamperings: [string, string, number, string][] = [
    [
      'another record',
      `UPDATE resource_versions SET body = (SELECT body FROM resource_versions WHERE id = '${victim}' AND version = 1) WHERE id = '${other}' AND version = 2`,
      2,
      'authentication',
    ],
    [
      'another version',
      `UPDATE resource_versions SET body = (SELECT body FROM resource_versions WHERE id = '${other}' AND version = 2) WHERE id = '${other}' AND version = 1`,
      1,
      'authentication',
    ],
  ];
  const url = (version: number): string => `${base}/${other}/_history/${version}`;
  for (const [what, sql, version, failure] of tamperings) {
    raw(h, (db) => db.exec(sql));
    const res = await h.app.inject({ method: 'GET', url: url(version), headers: auth(token) });
    assert.equal(res.statusCode, 500, what);
    const body = res.json<Envelope>();
    assert.deepEqual(
      body,
      {
        error: {
          code: 'INTERNAL_ERROR',
          message: 'An unexpected error occurred',
          requestId: res.headers['x-request-id'],
        },
      },
      what,
    );
    assert.ok(!res.body.includes(marker), `${what}: never the other record's data`);
    const event = h.securityEvents.find(
      (each) => each.kind === 'integrity.error' && each.requestId === res.headers['x-request-id'],
    );
    assert.ok(event !== undefined, `${what}: integrity.error with the request id`);
    assert.deepEqual(
      event.details,
      { source: 'sealed-record', resourceType: 'Patient', resourceId: other, version, failure },
      what,
    );
    assert.equal(event.subject, 'test-clinician');
    assert.deepEqual(
      (await auditEventOf(h, res))?.outcome,
      { status: 500, code: 'INTERNAL_ERROR' },
      `${what} is audited`,
    );
  }
  const current = await h.app.inject({ method: 'GET', url: `${base}/${other}`, headers: auth(token) });
  assert.equal(current.statusCode, 500, 'the current version reads the tampered row too');

  const victimRead = await h.app.inject({ method: 'GET', url: `${base}/${victim}`, headers: auth(token) });
  assert.equal(victimRead.statusCode, 200, 'the untouched record still reads');
  raw(h, (db) => db.exec(`UPDATE resource_versions SET body = substr(body, 1, 20) WHERE id = '${victim}'`));
  const truncated = await h.app.inject({ method: 'GET', url: `${base}/${victim}`, headers: auth(token) });
  assert.equal(truncated.statusCode, 500);
  const failures = h.securityEvents
    .filter((each) => each.kind === 'integrity.error')
    .map((each) => each.details.failure);
  assert.equal(failures.at(-1), 'format');
  assert.ok(
    h.securityEvents
      .filter((each) => each.kind === 'integrity.error')
      .every((each) => !JSON.stringify(each).includes(marker)),
  );

  await h.monitoring.detector.settled();
  const alerts = await h.db.alerts.list({ kind: 'integrity_error', limit: 10 });
  assert.ok(alerts.length >= 1, 'monitoring raised a critical integrity_error alert');
  assert.ok(alerts.every((alert) => alert.severity === 'critical'));
});

test('a single flipped byte of a sealed body is an integrity error', async (t) => {
  const h = await build(t);
  const token = await h.token('clinician');
  const id = await create(h, token, marker);
  const [body] = bodies(h);
  assert.ok(body !== undefined);
  const altered = Buffer.from(body);
  altered[altered.length - 20] = (altered[altered.length - 20] ?? 0) ^ 0x01;
  raw(h, (db) => db.prepare('UPDATE resource_versions SET body = ? WHERE id = ?').run(altered, id));
  const res = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(token) });
  assert.equal(res.statusCode, 500);
  assert.equal(res.json<Envelope>().error.code, 'INTERNAL_ERROR');
  raw(h, (db) => db.prepare('UPDATE resource_versions SET body = ? WHERE id = ?').run(body, id));
  assert.equal(
    (await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(token) })).statusCode,
    200,
    'the original bytes open again',
  );
});
