/**
 * Rate limits over HTTP (docs/rate-limits.md; DESIGN.md request path steps
 * 2 and 4): burst then refill on a fake clock, the 429 envelope with
 * Retry-After and the draft RateLimit headers, per address before the bearer
 * gate, per principal after it, classes with their own buckets, and `off`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEvent, AuditLog } from '../../src/audit/event.js';
import { createMemoryRateLimitStore } from '../../src/gateway/rate-limit/memory-store.js';
import { build, type BuildOptions, type TestApp } from '../helpers/app.js';
import { securityHeaderValues } from '../helpers/process.js';

const base = '/api/v1/patients';
const patient = {
  resourceType: 'Patient',
  name: [{ family: 'Durand', given: ['Ann'] }],
  gender: 'female',
  birthDate: '1974-12-25',
};

interface Limited extends TestApp {
  /** Moves the buckets' clock on. */
  advance(ms: number): void;
  /** Every audit event recorded so far. */
  readonly audited: readonly AuditEvent[];
}

/** The app with `limits` as CADUCEUS_RATE_LIMIT, on buckets whose clock only the test moves. */
async function limited(t: Parameters<typeof build>[0], limits: string, extra: BuildOptions = {}): Promise<Limited> {
  let now = Date.parse('2025-01-14T10:00:00.000Z');
  const audited: AuditEvent[] = [];
  const h = await build(t, {
    ...extra,
    env: { CADUCEUS_RATE_LIMIT: limits, ...extra.env },
    rateLimitStore: createMemoryRateLimitStore({ now: () => now }),
    wrapAudit: (audit): AuditLog => ({
      record: (event) => {
        audited.push(event);
        return audit.record(event);
      },
      checkpoint: () => audit.checkpoint(),
      close: () => audit.close(),
    }),
  });
  return Object.assign(h, {
    advance: (ms: number) => {
      now += ms;
    },
    audited,
  });
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function assertRateLimited(res: LightMyRequestResponse, retryAfter: string): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.equal(res.headers['retry-after'], retryAfter);
  assert.deepEqual(res.json(), {
    error: { code: 'RATE_LIMITED', message: 'Too many requests', requestId: res.headers['x-request-id'] },
  });
  for (const [name, value] of Object.entries(securityHeaderValues)) assert.equal(res.headers[name], value, name);
}

test('reads: the burst passes, then 429 with Retry-After until one interval later, one more, and full again after the whole refill', async (t) => {
  // read: 3 per minute, bursts of 3: one token every 20 s.
  const h = await limited(t, 'read=3/1m:3');
  const headers = bearer(await h.token('clinician'));
  const read = () => h.app.inject({ method: 'GET', url: base, headers });
  const burst = [await read(), await read(), await read()];
  assert.deepEqual(
    burst.map((res) => res.statusCode),
    [200, 200, 200],
  );
  assert.deepEqual(
    burst.map((res) => res.headers.ratelimit),
    ['"ip";r=299;t=1, "read";r=2;t=20', '"ip";r=298;t=1, "read";r=1;t=40', '"ip";r=297;t=1, "read";r=0;t=60'],
    'headers on allowed responses: every bucket the request took from',
  );
  assert.equal(burst[0]!.headers['ratelimit-policy'], '"ip";q=300;w=15, "read";q=3;w=60');

  const refused = await read();
  assertRateLimited(refused, '20');
  assert.equal(refused.headers.ratelimit, '"ip";r=296;t=1, "read";r=0;t=60');
  h.advance(19_000);
  assertRateLimited(await read(), '1');
  h.advance(1000);
  assert.equal((await read()).statusCode, 200, 'one token back after one interval');
  assertRateLimited(await read(), '20');
  h.advance(60_000);
  assert.deepEqual(
    [(await read()).statusCode, (await read()).statusCode, (await read()).statusCode, (await read()).statusCode],
    [200, 200, 200, 429],
  );
});

test('a post-auth refusal is audited as 429 and emits rate_limit.exceeded with the principal, and metrics count the decisions', async (t) => {
  const h = await limited(t, 'read=1/1m:1');
  const headers = bearer(await h.token('clinician', { sub: 'dr-who' }));
  assert.equal((await h.app.inject({ method: 'GET', url: base, headers })).statusCode, 200);
  const refused = await h.app.inject({
    method: 'GET',
    url: `${base}?family=Secretname`,
    headers,
    remoteAddress: '198.51.100.7',
  });
  assertRateLimited(refused, '60');
  const requestId = String(refused.headers['x-request-id']);
  const events = h.securityEvents.filter((event) => event.kind === 'rate_limit.exceeded');
  assert.equal(events.length, 1);
  assert.deepEqual(
    { ...events[0], time: 'x' },
    {
      kind: 'rate_limit.exceeded',
      time: 'x',
      requestId,
      sourceIp: '198.51.100.7',
      subject: 'dr-who',
      details: { policy: 'read', stage: 'post-auth', key: 'principal', client: 'test-client' },
    },
  );
  assert.ok(!JSON.stringify(events).includes('Secretname'), 'no query values in the event');
  const audit = h.audited.filter((event) => event.requestId === requestId);
  assert.equal(audit.length, 1, 'reached authentication: audited once');
  assert.deepEqual(audit[0]?.outcome, { status: 429, code: 'RATE_LIMITED' });
  const metrics = await h.metrics.render();
  assert.match(metrics, /caduceus_rate_limit_decisions_total\{policy="read",outcome="allowed"\} 1\n/);
  assert.match(metrics, /caduceus_rate_limit_decisions_total\{policy="read",outcome="limited"\} 1\n/);
  assert.match(metrics, /caduceus_rate_limit_decisions_total\{policy="ip",outcome="allowed"\} 2\n/);
});

test('before authentication, per address: requests with no or a bad token are limited, answered 429 instead of 401, and not audited', async (t) => {
  const h = await limited(t, 'ip=3/1m:3');
  const anonymous = (remoteAddress: string, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'GET', url: `${base}/abc`, headers, remoteAddress });
  const answers = [
    await anonymous('203.0.113.5'),
    await anonymous('203.0.113.5', { authorization: 'Bearer not.a.token' }),
    await anonymous('203.0.113.5', { authorization: 'Basic eDp5' }),
  ];
  assert.deepEqual(
    answers.map((res) => res.statusCode),
    [401, 401, 401],
  );
  assert.equal(answers[2]!.headers.ratelimit, '"ip";r=0;t=60');
  const refused = await anonymous('203.0.113.5', { authorization: 'Bearer not.a.token' });
  assertRateLimited(refused, '20');
  assert.equal(refused.headers['www-authenticate'], undefined, 'refused before the bearer gate');
  assert.equal((await anonymous('203.0.113.6')).statusCode, 401, 'another address has its own bucket');

  const requestId = String(refused.headers['x-request-id']);
  assert.equal(
    h.audited.filter((event) => event.requestId === requestId).length,
    0,
    'earlier refusals are counted, not audited per request',
  );
  const event = h.securityEvents.find((candidate) => candidate.kind === 'rate_limit.exceeded');
  assert.deepEqual(event && { ...event, time: 'x' }, {
    kind: 'rate_limit.exceeded',
    time: 'x',
    requestId,
    sourceIp: '203.0.113.5',
    subject: null,
    details: { policy: 'ip', stage: 'pre-auth', key: 'ip' },
  });
  // A valid token from the drained address is refused too: the address bucket comes first.
  assertRateLimited(await anonymous('203.0.113.5', bearer(await h.token('clinician'))), '20');
});

test('after authentication, per principal: two users behind one address have a bucket each', async (t) => {
  const h = await limited(t, 'read=2/1m:2');
  const alice = bearer(await h.token('clinician', { sub: 'alice' }));
  const bob = bearer(await h.token('clinician', { sub: 'bob' }));
  const read = (headers: Record<string, string>) =>
    h.app.inject({ method: 'GET', url: base, headers, remoteAddress: '192.0.2.10' });
  assert.deepEqual(
    [(await read(alice)).statusCode, (await read(alice)).statusCode, (await read(alice)).statusCode],
    [200, 200, 429],
  );
  assert.deepEqual(
    [(await read(bob)).statusCode, (await read(bob)).statusCode, (await read(bob)).statusCode],
    [200, 200, 429],
  );
  // And one principal does not get more by changing address.
  assert.equal(
    (await h.app.inject({ method: 'GET', url: base, headers: alice, remoteAddress: '192.0.2.99' })).statusCode,
    429,
  );
});

test('classes have their own buckets: writes are stricter than reads', async (t) => {
  const h = await limited(t, 'read=5/1m:5,write=1/1m:1');
  const headers = bearer(await h.token('clinician'));
  const created = await h.app.inject({ method: 'POST', url: base, headers, payload: patient });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.headers.ratelimit, '"ip";r=299;t=1, "write";r=0;t=60');
  assertRateLimited(await h.app.inject({ method: 'POST', url: base, headers, payload: patient }), '60');
  const id = created.json<{ id: string }>().id;
  assertRateLimited(await h.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers }), '60');
  const reads = await Promise.all(
    Array.from({ length: 6 }, () => h.app.inject({ method: 'GET', url: `${base}/${id}`, headers })),
  );
  assert.deepEqual(
    reads.map((res) => res.statusCode).sort(),
    [200, 200, 200, 200, 200, 429],
    'reads still pass, up to their own burst',
  );
});

test('auth-class routes (login, token, MFA) are limited per address, strictly, before any token exists', async (t) => {
  const h = await limited(t, 'auth=2/1m:2');
  h.app.post('/test/login', { config: { access: 'public', rateLimit: 'auth' } }, () => ({ ok: true }));
  const login = (remoteAddress: string) =>
    h.app.inject({ method: 'POST', url: '/test/login', payload: {}, remoteAddress });
  const answers = [await login('192.0.2.1'), await login('192.0.2.1'), await login('192.0.2.1')];
  assert.deepEqual(
    answers.map((res) => res.statusCode),
    [200, 200, 429],
  );
  assert.equal(answers[0]!.headers['ratelimit-policy'], '"ip";q=300;w=15, "auth";q=2;w=60');
  assertRateLimited(answers[2]!, '30');
  assert.equal((await login('192.0.2.2')).statusCode, 200);
  const event = h.securityEvents.find((candidate) => candidate.kind === 'rate_limit.exceeded');
  assert.deepEqual(event?.details, { policy: 'auth', stage: 'pre-auth', key: 'ip' });
});

test('public routes that declare nothing take from `default` per address; `rateLimit: false` exempts a route, and liveness', async (t) => {
  const h = await limited(t, 'default=1/1m:1');
  h.app.get('/test/exempt', { config: { access: 'public', rateLimit: false } }, () => ({ ok: true }));
  assert.equal((await h.app.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
  assertRateLimited(await h.app.inject({ method: 'GET', url: '/ready' }), '60');
  assertRateLimited(await h.app.inject({ method: 'GET', url: '/no/such/path' }), '60');
  const exempt = await h.app.inject({ method: 'GET', url: '/test/exempt' });
  assert.equal(exempt.statusCode, 200);
  assert.equal(exempt.headers.ratelimit, undefined);
  for (let i = 0; i < 3; i += 1) assert.equal((await h.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});

test('a route declaring an unknown class is refused when it is registered', async (t) => {
  const h = await limited(t, '');
  assert.throws(
    () => h.app.get('/test/odd', { config: { access: 'public', rateLimit: 'reads' as 'read' } }, () => ({})),
    /unknown rate-limit class/,
  );
});

test('CADUCEUS_RATE_LIMIT=off: nothing is limited and no RateLimit headers are sent', async (t) => {
  const h = await limited(t, 'off');
  const headers = bearer(await h.token('clinician'));
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => h.app.inject({ method: 'POST', url: base, headers, payload: patient })),
  );
  assert.ok(answers.every((res) => res.statusCode === 201));
  assert.equal(answers[0]!.headers.ratelimit, undefined);
  assert.equal(answers[0]!.headers['ratelimit-policy'], undefined);
  const unauthenticated = await Promise.all(
    Array.from({ length: 400 }, () => h.app.inject({ method: 'GET', url: base })),
  );
  assert.ok(unauthenticated.every((res) => res.statusCode === 401));
  assert.equal(h.securityEvents.filter((event) => event.kind === 'rate_limit.exceeded').length, 0);
});

test('the defaults limit too: an address beyond the `ip` burst is refused', async (t) => {
  const h = await limited(t, '');
  const answers = await Promise.all(Array.from({ length: 301 }, () => h.app.inject({ method: 'GET', url: base })));
  assert.equal(answers.filter((res) => res.statusCode === 401).length, 300);
  assert.equal(answers.filter((res) => res.statusCode === 429).length, 1);
});
