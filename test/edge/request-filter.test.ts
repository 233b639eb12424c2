/**
 * Request filtering at the edge (docs/edge.md), over raw sockets so that the
 * request target arrives byte for byte: every rule with a bad request and a
 * near miss that must pass. Each refusal carries the envelope, X-Request-Id
 * and the security headers, is one `edge.refused` event naming its rule,
 * is not audited, and echoes none of the input anywhere.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../src/audit/event.js';
import type { RawResponse } from '../helpers/process.js';
import { build, type TestApp } from '../helpers/app.js';
import { assertRefusal, listen, rawGet } from './raw-http.js';

const plant = 'Zqxplant';
const env = {
  CADUCEUS_MAX_URL_BYTES: '512',
  CADUCEUS_MAX_HEADERS: '20',
  CADUCEUS_MAX_QUERY_PARAMS: '5',
  CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000',
};

interface Harness {
  readonly h: TestApp;
  readonly port: number;
  readonly auth: string;
}

async function harness(t: TestContext): Promise<Harness> {
  const h = await build(t, { env });
  const port = await listen(h.app);
  // An admin: a request that passes the edge reaches the handler, whose 404 for an unknown id shows it (a clinician gets 403 for ids not assigned to it).
  return { h, port, auth: `Authorization: Bearer ${await h.token('admin')}` };
}

async function auditedRequestIds(h: TestApp): Promise<Set<string>> {
  const rows = await h.db.audit.read({ writerId: h.audit.writerId, limit: 100_000 });
  return new Set(
    rows.filter((row) => row.kind === 'event').map((row) => (JSON.parse(row.payload) as AuditEvent).requestId),
  );
}

/** A refusal: envelope, headers, one event with the rule, no audit event, nothing planted echoed. */
async function expectRefused(x: Harness, target: string, rule: string, headers: readonly string[] = []): Promise<void> {
  const before = x.h.securityEvents.length;
  const response = await rawGet(x.port, target, [x.auth, ...headers]);
  const { requestId } = assertRefusal(response, 400, 'VALIDATION_ERROR');
  const events = x.h.securityEvents.slice(before);
  assert.deepEqual(
    events.map((event) => [event.kind, event.requestId, event.details]),
    [['edge.refused', requestId, { rule, code: 'VALIDATION_ERROR' }]],
    target,
  );
  assert.equal(events[0]?.sourceIp, '127.0.0.1');
  assert.ok(!(await auditedRequestIds(x.h)).has(requestId), 'an edge refusal is not audited');
  for (const text of [response.body, JSON.stringify(response.headers), JSON.stringify(events)]) {
    assert.ok(!text.includes(plant), `the input is echoed: ${text}`);
  }
}

/** A near miss: passes the edge, reaches the route, is audited, and raises no edge event. */
async function expectPassed(
  x: Harness,
  target: string,
  status = 200,
  headers: readonly string[] = [],
): Promise<RawResponse> {
  const before = x.h.securityEvents.length;
  const response = await rawGet(x.port, target, [x.auth, ...headers]);
  assert.equal(response.status, status, `${target}: ${response.body.slice(0, 300)}`);
  assert.deepEqual(
    x.h.securityEvents.slice(before).map((event) => event.kind),
    [],
    target,
  );
  return response;
}

test('path traversal is refused raw, percent-encoded and double-encoded; single dots and dotted ids pass', async (t) => {
  const x = await harness(t);
  for (const target of [
    `/api/v1/patients/../${plant}`,
    `/api/v1/patients/..%2f${plant}`,
    `/api/v1/patients/%2e%2e/${plant}`,
    `/api/v1/patients/%2E%2E%2F${plant}`,
    `/api/v1/patients/%252e%252e%252f${plant}`,
    `/api/v1/patients/%25252e%25252e/${plant}`,
    `/api/v1/patients/${plant}/..`,
  ])
    await expectRefused(x, target, 'path_traversal');
  await expectPassed(x, '/api/v1/patients/a..b', 404);
  await expectPassed(x, '/api/v1/patients/v1.2.3', 404);
  await expectPassed(x, '/api/v1/patients?family=a..b', 200);
});

test('null bytes, CR/LF and other control characters are refused in the path and query, encoded at any depth', async (t) => {
  const x = await harness(t);
  await expectRefused(x, `/api/v1/patients/${plant}%00`, 'null_byte');
  await expectRefused(x, `/api/v1/patients?family=${plant}%00`, 'null_byte');
  await expectRefused(x, `/api/v1/patients?family=${plant}%2500`, 'null_byte');
  await expectRefused(x, `/api/v1/patients/${plant}%0d%0aSet-Cookie:%20a=b`, 'crlf');
  await expectRefused(x, `/api/v1/patients?family=${plant}%0d%0aX-Injected:%20yes`, 'crlf');
  await expectRefused(x, `/api/v1/patients?family=${plant}%0a`, 'crlf');
  await expectRefused(x, `/api/v1/patients?family=${plant}%250D%250A`, 'crlf');
  await expectRefused(x, `/api/v1/patients/${plant}%01`, 'control_character');
  await expectRefused(x, `/api/v1/patients/${plant}%7f`, 'control_character');
  await expectRefused(x, `/api/v1/patients/${plant}%09`, 'control_character');
  await expectRefused(x, `/api/v1/patients?family=${plant}%1b`, 'control_character');
  // Near misses: an encoded space, a tab inside a search value (FHIR strings may hold one), a literal "%00" searched for.
  await expectPassed(x, '/api/v1/patients?family=Van%20Damme');
  await expectPassed(x, '/api/v1/patients?family=Van%09Damme');
  await expectPassed(x, '/api/v1/patients?family=100%25');
  await expectPassed(x, '/api/v1/patients?family=%2530');
});

test('malformed percent-encoding is refused in the path (via the router) and the query; valid UTF-8 escapes pass', async (t) => {
  const x = await harness(t);
  for (const target of [
    `/api/v1/patients/${plant}%zz`,
    `/api/v1/patients/${plant}%`,
    `/api/v1/patients/${plant}%e9`,
    `/api/v1/patients?family=${plant}%zz`,
    `/api/v1/patients?family=${plant}%4`,
    `/api/v1/patients?family=${plant}%ff%fe`,
    `/api/v1/patients?family=${plant}%c3`,
  ])
    await expectRefused(x, target, 'percent_encoding');
  await expectPassed(x, '/api/v1/patients?family=Ren%C3%A9e');
  await expectPassed(x, '/api/v1/patients?family=Nu%C3%B1ez&given=Zo%C3%AB');
  await expectPassed(x, '/api/v1/patients?family=O%27Brien');
});

test('backslashes are refused in the path, raw or encoded; FHIR escapes with a backslash in the query pass', async (t) => {
  const x = await harness(t);
  await expectRefused(x, `/api/v1/patients\\${plant}`, 'backslash');
  await expectRefused(x, `/api/v1/patients/${plant}%5cwin.ini`, 'backslash');
  await expectRefused(x, `/api/v1/patients/${plant}%255c`, 'backslash');
  await expectPassed(x, '/api/v1/patients?family=a%5C,b');
});

test('URL length, header count and query parameter count are limited by their settings, at the limit allowed', async (t) => {
  const x = await harness(t);
  const prefix = '/api/v1/patients?family=';
  const atLimit = `${prefix}${'a'.repeat(512 - prefix.length)}`;
  assert.equal(atLimit.length, 512);
  await expectPassed(x, atLimit, 400); // the search refuses the 256+ character value itself: the edge let it through
  await expectRefused(x, `${atLimit}${plant}`.slice(0, 513), 'url_too_long');
  await expectRefused(x, `${prefix}${plant}${'a'.repeat(600)}`, 'url_too_long');

  // Host, Authorization and Connection, plus the padding.
  const pad = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-Pad-${i}: ${plant}`);
  await expectPassed(x, '/api/v1/patients', 200, pad(17));
  await expectRefused(x, '/api/v1/patients', 'too_many_headers', pad(18));

  const params = (n: number): string => Array.from({ length: n }, (_, i) => `family=a${i}`).join('&');
  await expectPassed(x, `/api/v1/patients?${params(5)}`);
  await expectPassed(x, `/api/v1/patients?${params(5)}&&`); // empty pairs are not parameters
  await expectRefused(x, `/api/v1/patients?${params(5)}&given=${plant}`, 'too_many_query_parameters');
});

test('errors the router raises before any hook come in the envelope with the headers, and name no path', async (t) => {
  const x = await harness(t);
  await expectRefused(x, `/api/v1/pat%zzients/${plant}`, 'percent_encoding');
  // maxParamLength is 200: Fastify answered 414 outside the envelope, echoing the path.
  await expectRefused(x, `/api/v1/patients/${plant}${'a'.repeat(200)}`, 'path_parameter_too_long');
  await expectPassed(x, `/api/v1/patients/${'a'.repeat(64)}`, 404);
});

test('requests refused at the edge never reach authentication: no 401 for a refused unauthenticated request', async (t) => {
  const x = await harness(t);
  const before = x.h.securityEvents.length;
  const response = await rawGet(x.port, `/api/v1/patients/%2e%2e/${plant}`);
  assertRefusal(response, 400, 'VALIDATION_ERROR');
  assert.equal(response.headers['www-authenticate'], undefined);
  assert.deepEqual(
    x.h.securityEvents.slice(before).map((event) => event.kind),
    ['edge.refused'],
  );
  const unauthenticated = await rawGet(x.port, '/api/v1/patients');
  assertRefusal(unauthenticated, 401, 'AUTH_ERROR');
});
