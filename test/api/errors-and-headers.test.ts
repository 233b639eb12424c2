/**
 * The edge and the error envelope over HTTP (docs/errors.md,
 * docs/security-headers.md, DESIGN.md request path steps 1 and 8): every
 * response carries the seed's security headers and an X-Request-Id equal to
 * the envelope's requestId; body limits, media types, malformed and hostile
 * JSON, unknown paths and methods answer with the catalogue's codes; an
 * unexpected failure leaks nothing; /health and /ready say nothing more than
 * their status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { AuditLog } from '../../src/audit/event.js';
import { errorCatalogue, type ErrorCode } from '../../src/errors/index.js';
import type { Sealer } from '../../src/keys/ports.js';
import { StorageError } from '../../src/storage/errors.js';
import { build, type TestApp } from '../helpers/app.js';
import { securityHeaderValues } from '../helpers/process.js';

type Reply = LightMyRequestResponse;

const base = '/api/v1/patients';

/** The seed's headers, exactly (docs/security-headers.md), written out in the test helpers rather than imported from src. */
const seedHeaders = securityHeaderValues;

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function patientBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    name: [{ family: 'Chalmers', given: ['Peter'] }],
    gender: 'male',
    birthDate: '1974-12-25',
    ...extra,
  };
}

/** The seed's headers with their exact values, no software banner, and a well-formed X-Request-Id; returns the id. */
function assertEdgeHeaders(res: Reply, what: string): string {
  for (const [name, value] of Object.entries(seedHeaders)) assert.equal(res.headers[name], value, `${what}: ${name}`);
  assert.equal(res.headers['x-powered-by'], undefined, `${what}: x-powered-by`);
  assert.equal(res.headers.server, undefined, `${what}: server`);
  const id = res.headers['x-request-id'];
  assert.equal(typeof id, 'string', `${what}: x-request-id`);
  assert.match(String(id), /^[0-9a-f]{32}$/, `${what}: x-request-id`);
  return String(id);
}

/** Exactly the envelope with the code's status, the given (or catalogue) message and the header's request id. */
function assertEnvelope(res: Reply, code: ErrorCode, message: string = errorCatalogue[code].message): void {
  assert.equal(res.statusCode, errorCatalogue[code].status, `${code}: ${res.body}`);
  const requestId = assertEdgeHeaders(res, code);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.deepEqual(res.json(), { error: { code, message, requestId } });
}

async function createPatient(h: TestApp, token: string): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: base, headers: auth(token), payload: patientBody() });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

test('every status the API answers carries the seed headers and the envelope under the X-Request-Id', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const billing = await h.token('billing');
  const id = await createPatient(h, admin);
  const gone = await createPatient(h, admin);
  assert.equal(
    (await h.app.inject({ method: 'DELETE', url: `${base}/${gone}`, headers: auth(admin) })).statusCode,
    204,
  );

  const successes: [number, InjectOptions][] = [
    [200, { method: 'GET', url: `${base}/${id}`, headers: auth(admin) }],
    [200, { method: 'GET', url: '/health' }],
    [200, { method: 'GET', url: '/ready' }],
    [201, { method: 'POST', url: base, headers: auth(admin), payload: patientBody() }],
    [204, { method: 'DELETE', url: `${base}/${await createPatient(h, admin)}`, headers: auth(admin) }],
  ];
  const ids = new Set<string>();
  for (const [status, request] of successes) {
    const res = await h.app.inject(request);
    const what = `${String(status)} ${String(request.method)} ${typeof request.url === 'string' ? request.url : ''}`;
    assert.equal(res.statusCode, status, `${what}: ${res.body}`);
    ids.add(assertEdgeHeaders(res, what));
  }

  const failures: [ErrorCode, InjectOptions][] = [
    [
      'BAD_REQUEST',
      {
        method: 'POST',
        url: base,
        headers: { ...auth(admin), 'content-type': 'application/json' },
        payload: '{"resourceType":',
      },
    ],
    ['AUTH_ERROR', { method: 'GET', url: `${base}/${id}` }],
    ['FORBIDDEN', { method: 'POST', url: base, headers: auth(billing), payload: patientBody() }],
    ['NOT_FOUND', { method: 'GET', url: '/no/such/path' }],
    ['NOT_FOUND', { method: 'GET', url: `${base}/does-not-exist`, headers: auth(admin) }],
    ['METHOD_NOT_ALLOWED', { method: 'PATCH', url: `${base}/${id}` }],
    ['GONE', { method: 'GET', url: `${base}/${gone}`, headers: auth(admin) }],
    [
      'PRECONDITION_FAILED',
      {
        method: 'PUT',
        url: `${base}/${id}`,
        headers: { ...auth(admin), 'if-match': 'W/"7"' },
        payload: patientBody({ id }),
      },
    ],
    [
      'UNSUPPORTED_MEDIA_TYPE',
      { method: 'POST', url: base, headers: { ...auth(admin), 'content-type': 'text/plain' }, payload: 'hello' },
    ],
  ];
  for (const [code, request] of failures) {
    const res = await h.app.inject(request);
    const message =
      code === 'AUTH_ERROR'
        ? 'A bearer access token is required'
        : code === 'BAD_REQUEST'
          ? 'The request body is not valid JSON'
          : code === 'UNSUPPORTED_MEDIA_TYPE'
            ? 'Content-Type must be application/fhir+json or application/json'
            : undefined;
    assertEnvelope(res, code, message);
    ids.add(String(res.headers['x-request-id']));
  }
  assert.equal(ids.size, successes.length + failures.length, 'every response has its own request id');
});

test('over a real socket, too: the seed headers, no Server or X-Powered-By banner', async (t) => {
  const h = await build(t);
  const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
  const admin = await h.token('admin');
  for (const [path, headers, status] of [
    ['/health', {}, 200],
    [base, auth(admin), 200],
    [base, {}, 401],
    ['/nowhere', {}, 404],
  ] as const) {
    const res = await fetch(`${address}${path}`, { headers });
    const body = await res.text();
    assert.equal(res.status, status, `${path}: ${body}`);
    for (const [name, value] of Object.entries(seedHeaders))
      assert.equal(res.headers.get(name), value, `${path}: ${name}`);
    assert.equal(res.headers.get('server'), null);
    assert.equal(res.headers.get('x-powered-by'), null);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
    if (status >= 400)
      assert.equal(
        (JSON.parse(body) as { error: { requestId: string } }).error.requestId,
        res.headers.get('x-request-id'),
      );
  }
});

test('413 PAYLOAD_TOO_LARGE for a valid JSON body over CADUCEUS_BODY_LIMIT_BYTES; a body under it passes', async (t) => {
  const h = await build(t, { env: { CADUCEUS_BODY_LIMIT_BYTES: '2048' } });
  assert.equal(h.config.limits.bodyBytes, 2048);
  const admin = await h.token('admin');
  const large = JSON.stringify(patientBody({ identifier: [{ system: 'urn:oid:1.2.3', value: 'x'.repeat(2100) }] }));
  assert.ok(Buffer.byteLength(large) > 2048);
  const res = await h.app.inject({
    method: 'POST',
    url: base,
    headers: { ...auth(admin), 'content-type': 'application/fhir+json' },
    payload: large,
  });
  assertEnvelope(res, 'PAYLOAD_TOO_LARGE');
  assert.ok(!res.body.includes('xxxxxxxx'));
  const small = JSON.stringify(patientBody());
  assert.ok(Buffer.byteLength(small) < 2048);
  const ok = await h.app.inject({
    method: 'POST',
    url: base,
    headers: { ...auth(admin), 'content-type': 'application/fhir+json' },
    payload: small,
  });
  assert.equal(ok.statusCode, 201, ok.body);
  assertEdgeHeaders(ok, '201');
});

test('415 for bodies that are not JSON media types, whatever they contain', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const json = JSON.stringify(patientBody());
  for (const [type, payload] of [
    ['text/plain', json],
    ['application/xml', '<Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>'],
    ['application/fhir+xml', '<Patient xmlns="http://hl7.org/fhir"/>'],
    ['application/x-www-form-urlencoded', 'resourceType=Patient'],
  ] as const) {
    const res = await h.app.inject({
      method: 'POST',
      url: base,
      headers: { ...auth(admin), 'content-type': type },
      payload,
    });
    assertEnvelope(res, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/fhir+json or application/json');
  }
  // The JSON types themselves pass, with or without a charset.
  for (const type of ['application/json', 'application/fhir+json; charset=utf-8']) {
    const res = await h.app.inject({
      method: 'POST',
      url: base,
      headers: { ...auth(admin), 'content-type': type },
      payload: json,
    });
    assert.equal(res.statusCode, 201, `${type}: ${res.body}`);
  }
});

test('invalid JSON answers 400 BAD_REQUEST with a fixed message that does not echo the input', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  for (const payload of [
    '{"resourceType":"Patient","name":[{"family":"Zq9echo"',
    '{Zq9echo}',
    "{'resourceType':'Zq9echo'}",
    '[1,,2] Zq9echo',
  ]) {
    const res = await h.app.inject({
      method: 'POST',
      url: base,
      headers: { ...auth(admin), 'content-type': 'application/fhir+json' },
      payload,
    });
    assertEnvelope(res, 'BAD_REQUEST', 'The request body is not valid JSON');
    assert.ok(!res.body.includes('Zq9echo') && !res.body.includes('position'), res.body);
  }
});

test('__proto__ and constructor.prototype keys are refused with 400, and nothing is polluted', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const hostile = [
    '{"resourceType":"Patient","__proto__":{"polluted":"yes"}}',
    '{"resourceType":"Patient","name":[{"family":"X","__proto__":{"polluted":"yes"}}]}',
    '{"resourceType":"Patient","constructor":{"prototype":{"polluted":"yes"}}}',
    '{"resourceType":"Patient","name":[{"constructor":{"prototype":{"polluted":"yes"}}}]}',
  ];
  for (const payload of hostile) {
    for (const [method, url] of [
      ['POST', base],
      ['PUT', `${base}/abc`],
    ] as const) {
      const res = await h.app.inject({
        method,
        url,
        headers: { ...auth(admin), 'content-type': 'application/json' },
        payload,
      });
      assertEnvelope(res, 'BAD_REQUEST', 'The request body is not valid JSON');
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
});

test('405 METHOD_NOT_ALLOWED names the allowed methods in Allow, before authentication', async (t) => {
  const h = await build(t);
  const cases: [InjectOptions['method'], string, string][] = [
    ['PATCH', `${base}/abc`, 'GET, PUT, DELETE, HEAD'],
    ['POST', `${base}/abc`, 'GET, PUT, DELETE, HEAD'],
    ['DELETE', base, 'GET, POST, HEAD'],
    ['PUT', base, 'GET, POST, HEAD'],
    ['PATCH', base, 'GET, POST, HEAD'],
    ['POST', `${base}/abc/_history`, 'GET, HEAD'],
    ['DELETE', `${base}/abc/_history/1`, 'GET, HEAD'],
  ];
  for (const [method, url, allow] of cases) {
    const res = await h.app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: '{}' });
    assertEnvelope(res, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, allow, `${String(method)} ${url}`);
  }
});

test('unknown paths answer the 404 envelope to anyone, token or not', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  for (const url of [
    '/',
    '/api',
    '/api/v1',
    '/api/v2/patients',
    '/api/v2/patients/abc',
    '/api/v1/observations',
    '/api/v1/patients/a/b/c',
    '/.env',
    '/health/x',
  ]) {
    assertEnvelope(await h.app.inject({ method: 'GET', url }), 'NOT_FOUND');
    assertEnvelope(await h.app.inject({ method: 'GET', url, headers: auth(admin) }), 'NOT_FOUND');
  }
  assertEnvelope(await h.app.inject({ method: 'POST', url: '/api/v2/patients', payload: patientBody() }), 'NOT_FOUND');
});

test('an unexpected failure answers exactly the 500 envelope: no message, stack, SQL or path', async (t) => {
  const marker = 'SECRET-MARKER SELECT * FROM /etc/passwd';
  const sealer: Sealer = {
    seal: () => Promise.reject(new Error(marker)),
    open: (sealed) => Promise.resolve(sealed),
  };
  const h = await build(t, { sealer });
  const admin = await h.token('admin');
  const res = await h.app.inject({ method: 'POST', url: base, headers: auth(admin), payload: patientBody() });
  assertEnvelope(res, 'INTERNAL_ERROR');
  for (const leak of ['SECRET-MARKER', 'SELECT', '/etc/passwd', 'Error', ' at ', '.ts', 'stack']) {
    assert.ok(!res.body.includes(leak), `leaks ${leak}: ${res.body}`);
    for (const value of Object.values(res.headers)) assert.ok(!String(value).includes('SECRET-MARKER'));
  }
  assert.equal(res.headers.location, undefined);
  assert.equal(res.headers.etag, undefined);
});

test('a temporary storage failure (database unreachable or busy) answers 503 with Retry-After, not 500', async (t) => {
  for (const reason of ['unavailable', 'busy'] as const) {
    // The sealer runs inside the engine's write path, where a store's StorageError would surface.
    const sealer: Sealer = {
      seal: () =>
        Promise.reject(new StorageError('resources.write', reason, { cause: new Error('SQL: SELECT secret') })),
      open: (sealed) => Promise.resolve(sealed),
    };
    const h = await build(t, { sealer });
    const res = await h.app.inject({
      method: 'POST',
      url: base,
      headers: auth(await h.token('admin')),
      payload: patientBody(),
    });
    assertEnvelope(res, 'SERVICE_UNAVAILABLE');
    assert.equal(res.headers['retry-after'], '1');
    assert.ok(!res.body.includes('SQL') && !res.body.includes('resources.write'), res.body);
  }
});

test('/health and /ready answer 200 without a token and say nothing but their status', async (t) => {
  const h = await build(t);
  for (const [url, body] of [
    ['/health', { status: 'ok' }],
    ['/ready', { status: 'ready' }],
  ] as const) {
    const res = await h.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.body);
    assertEdgeHeaders(res, url);
    assert.deepEqual(res.json(), body);
    assert.ok(!/\d+\.\d+|sqlite|postgres|node|caduceus|\//i.test(res.body), res.body);
    // A token is not needed, and a bad one is not even looked at.
    assert.equal((await h.app.inject({ method: 'GET', url, headers: auth('garbage.token.here') })).statusCode, 200);
  }
});

/** The codes of an error, and of every error a disposal stack suppressed on the way (SuppressedError). */
function codesOf(error: unknown): string[] {
  if (error instanceof SuppressedError) return [...codesOf(error.error), ...codesOf(error.suppressed)];
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? [code] : [];
}

test('/ready answers 503 SERVICE_UNAVAILABLE in the envelope when the database cannot be reached; /health stays up', async (t) => {
  const h = await build(t);
  await h.db.close();
  assertEnvelope(await h.app.inject({ method: 'GET', url: '/ready' }), 'SERVICE_UNAVAILABLE');
  const health = await h.app.inject({ method: 'GET', url: '/health' });
  assert.equal(health.statusCode, 200);
  assertEdgeHeaders(health, '/health');
  // Shutting down without the database, the audit log cannot write its closing checkpoint, and says so; the rest still closes.
  await assert.rejects(h.close(), (error: unknown) => codesOf(error).includes('AUDIT_WRITE_FAILED'));
});

test('a fail-closed 503 (audit not durable) carries the seed headers and the envelope', async (t) => {
  const h = await build(t, {
    wrapAudit: (audit: AuditLog): AuditLog => ({
      ...audit,
      record: () => Promise.reject(new Error('disk full /var/lib/caduceus')),
    }),
  });
  const admin = await h.token('admin');
  const res = await h.app.inject({ method: 'POST', url: base, headers: auth(admin), payload: patientBody() });
  assertEnvelope(res, 'SERVICE_UNAVAILABLE');
  assert.ok(!res.body.includes('disk full'));
});
