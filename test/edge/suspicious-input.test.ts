/**
 * SQL- and script-looking text (docs/edge.md "Suspicious input"): harmless
 * by design, so by default it is accepted, stored and returned exactly as
 * sent, and reported as an `edge.suspicious_input` event naming the rule and
 * the location, never the value. CADUCEUS_SUSPICIOUS_INPUT=block refuses it
 * with 400; ordinary names (O'Brien, Select, accents) pass in both modes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../src/audit/event.js';
import type { SecurityEvent } from '../../src/lib/security-events.js';
import { build, type TestApp } from '../helpers/app.js';
import { assertRefusal } from './raw-http.js';

const plant = 'Zqxplant';
const base = '/api/v1/patients';
const quiet = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };

/** Names real people have that a naive filter would refuse. */
const ordinaryNames = [
  `O'Brien`,
  'Select',
  'Union',
  'Drop',
  `D'Angelo-Or`,
  'Renée',
  'Nuñez',
  'Zoë',
  'Łukasiewicz',
  'Ó Briain',
  `N'Diaye`,
  'Smith -- Jones',
  'sleep (6 h) -- improving',
];

/** Planted attacks, each with the rule it must be reported under. */
const attacks: readonly (readonly [string, string])[] = [
  [`${plant}' OR 1=1 --`, 'sql_tautology'],
  [`${plant}' or 'a'='a`, 'sql_tautology'],
  [`${plant}' UNION SELECT password FROM users`, 'sql_union'],
  [`UNION ALL SELECT ${plant}`, 'sql_union'],
  [`${plant}'; DROP TABLE patients`, 'sql_stacked_query'],
  [`${plant}'--`, 'sql_comment'],
  [`${plant}' AND SLEEP(5)`, 'sql_time_delay'],
  [`<script>alert('${plant}')</script>`, 'script_tag'],
  [`javascript:alert('${plant}')`, 'script_url'],
  [`<img src=x onerror=alert('${plant}')>`, 'event_handler'],
  [`../../etc/${plant}`, 'path_traversal'],
];

function patient(family: string, given = 'Ann'): Record<string, unknown> {
  return { resourceType: 'Patient', name: [{ family, given: [given] }], birthDate: '1974-12-25', gender: 'female' };
}

async function headers(h: TestApp): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await h.token('clinician')}` };
}

function suspicious(events: readonly SecurityEvent[]): SecurityEvent[] {
  return events.filter((event) => event.kind === 'edge.suspicious_input');
}

function assertNoPlant(h: TestApp): void {
  assert.ok(!JSON.stringify(h.securityEvents).includes(plant), 'a planted value reached a security event');
  assert.ok(!JSON.stringify(h.securityEvents).includes('SELECT'), 'a planted value reached a security event');
}

test('ordinary names with quotes, SQL words and accents are accepted and raise no event, in both modes', async (t) => {
  for (const mode of ['report', 'block']) {
    const h = await build(t, { env: { ...quiet, CADUCEUS_SUSPICIOUS_INPUT: mode } });
    const auth = await headers(h);
    for (const name of ordinaryNames) {
      const created = await h.app.inject({ method: 'POST', url: base, headers: auth, payload: patient(name, name) });
      assert.equal(created.statusCode, 201, `${mode} ${name}: ${created.body}`);
      assert.equal(created.json<{ name: { family: string }[] }>().name[0]?.family, name);
      const search = await h.app.inject({ method: 'GET', url: base, headers: auth, query: { family: name } });
      assert.equal(search.statusCode, 200, `${mode} ${name}: ${search.body}`);
    }
    assert.deepEqual(suspicious(h.securityEvents), [], mode);
  }
});

test('report mode: attacks in a body are stored and returned exactly, and each is reported by rule and location only', async (t) => {
  const h = await build(t, { env: quiet });
  const auth = await headers(h);
  for (const [value, rule] of attacks) {
    const before = h.securityEvents.length;
    const created = await h.app.inject({ method: 'POST', url: base, headers: auth, payload: patient(value) });
    assert.equal(created.statusCode, 201, `${rule}: ${created.body}`);
    assert.match(String(created.headers['content-type']), /^application\/fhir\+json/);
    const id = created.json<{ id: string }>().id;
    const read = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth });
    assert.equal(read.json<{ name: { family: string }[] }>().name[0]?.family, value, 'stored and returned as sent');
    const events = suspicious(h.securityEvents.slice(before));
    assert.ok(
      events.some((event) => event.details.rule === rule),
      `${rule} not reported: ${JSON.stringify(events)}`,
    );
    for (const event of events) {
      assert.deepEqual(Object.keys(event.details).sort(), ['blocked', 'location', 'rule']);
      assert.equal(event.details.location, 'body');
      assert.equal(event.details.blocked, false);
      assert.equal(event.requestId, created.headers['x-request-id']);
      assert.equal(event.subject, 'test-clinician');
      assert.equal(event.sourceIp, '127.0.0.1');
    }
  }
  assertNoPlant(h);
});

test('report mode: attacks in query values are searched for harmlessly and reported with location query', async (t) => {
  const h = await build(t, { env: quiet });
  const auth = await headers(h);
  for (const [value, rule] of attacks) {
    const before = h.securityEvents.length;
    const search = await h.app.inject({ method: 'GET', url: base, headers: auth, query: { family: value } });
    // The search parser may refuse the value's shape (a comma, a `$`): never the edge, never a 500.
    assert.ok(search.statusCode === 200 || search.statusCode === 400, `${rule}: ${search.statusCode}`);
    if (search.statusCode === 400)
      assert.notEqual(
        search.json<{ error: { message: string } }>().error.message,
        'The request contains input that matches a refused signature',
      );
    assert.ok(!search.body.includes(plant), 'the value is echoed');
    const events = suspicious(h.securityEvents.slice(before));
    assert.deepEqual(
      events.map((event) => [event.details.rule, event.details.location]).filter(([found]) => found === rule),
      [[rule, 'query']],
    );
  }
  assertNoPlant(h);
});

test('block mode: the same attacks answer 400 VALIDATION_ERROR in the envelope, body and query alike', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_SUSPICIOUS_INPUT: 'block' } });
  const auth = await headers(h);
  for (const [value, rule] of attacks) {
    const before = h.securityEvents.length;
    const created = await h.app.inject({ method: 'POST', url: base, headers: auth, payload: patient(value) });
    const refusal = assertRefusal(created, 400, 'VALIDATION_ERROR');
    assert.ok(!created.body.includes(plant));
    const search = await h.app.inject({ method: 'GET', url: base, headers: auth, query: { family: value } });
    assertRefusal(search, 400, 'VALIDATION_ERROR');
    const events = suspicious(h.securityEvents.slice(before));
    assert.ok(
      events.some(
        (event) =>
          event.details.rule === rule &&
          event.details.location === 'body' &&
          event.details.blocked === true &&
          event.requestId === refusal.requestId,
      ),
      rule,
    );
    assert.ok(
      events.some(
        (event) => event.details.rule === rule && event.details.location === 'query' && event.details.blocked === true,
      ),
      rule,
    );
  }
  assertNoPlant(h);
  // Nothing was stored.
  const all = await h.app.inject({ method: 'GET', url: base, headers: auth });
  assert.equal(all.json<{ total?: number; entry?: unknown[] }>().entry?.length ?? 0, 0);
});

test('block mode: a body refused after authentication is audited as the 400 it got; a query refused before it is not', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_SUSPICIOUS_INPUT: 'block' } });
  const auth = await headers(h);
  const body = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth,
    payload: patient(`<script>${plant}</script>`),
  });
  const query = await h.app.inject({
    method: 'GET',
    url: base,
    headers: auth,
    query: { family: `<script>${plant}</script>` },
  });
  const rows = await h.db.audit.read({ writerId: h.audit.writerId, limit: 100_000 });
  const events = rows.filter((row) => row.kind === 'event').map((row) => JSON.parse(row.payload) as AuditEvent);
  const bodyEvent = events.find((event) => event.requestId === body.headers['x-request-id']);
  assert.deepEqual(bodyEvent?.outcome, { status: 400, code: 'VALIDATION_ERROR' });
  assert.equal(
    events.find((event) => event.requestId === query.headers['x-request-id']),
    undefined,
  );
  assert.ok(!rows.some((row) => row.payload.includes(plant)), 'a planted value reached the audit log');
});

test('deep and large bodies are scanned within a bound and answered normally', async (t) => {
  const h = await build(t, { env: quiet });
  const auth = await headers(h);
  // 300 KiB of text that almost matches (`<scrip`, `' o`) everywhere: scanning stops at its budget and the request is answered.
  const nearMiss = `<scrip' o ${'a'.repeat(1000)}`.repeat(300);
  const response = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth,
    payload: { ...patient('Durand'), text: nearMiss },
  });
  assert.ok(response.statusCode === 400 || response.statusCode === 201, response.body.slice(0, 200));
  assert.deepEqual(suspicious(h.securityEvents), []);
});
