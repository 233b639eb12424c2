/**
 * The protected Prometheus endpoint over HTTP (docs/metrics.md): deny by
 * default through the bearer gate; request durations by route pattern, never
 * by URL (PHI); auth failures, audit write and key-operation latency, breaker
 * states; one registry per app.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditLog } from '../../src/audit/event.js';
import { build, type TestApp } from '../helpers/app.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text format's sample lines (comments skipped). */
function parseSamples(body: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; 0 when there is none. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} names ${found.length} samples`);
  return found[0]?.value ?? 0;
}

async function scrape(
  h: TestApp,
  role: 'admin' | 'auditor' = 'admin',
): Promise<{ res: LightMyRequestResponse; samples: Sample[] }> {
  const res = await h.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${await h.token(role)}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  return { res, samples: parseSamples(res.body) };
}

const patient = {
  resourceType: 'Patient',
  name: [{ family: 'Chalmers', given: ['Peter'] }],
  gender: 'male',
  birthDate: '1974-12-25',
};

async function createPatient(h: TestApp, token: string): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/api/v1/patients',
    payload: patient,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

test('/metrics is deny by default: 401 without a token, 403 for clinical roles, 200 for admin and auditor, audited', async (t) => {
  const h = await build(t);
  const anonymous = await h.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
  assert.ok(!anonymous.body.includes('caduceus_'), 'no metric leaks to an anonymous caller');
  for (const role of ['clinician', 'nurse', 'billing', 'patient', 'device'] as const) {
    const res = await h.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${await h.token(role)}` },
    });
    assert.equal(res.statusCode, 403, role);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'FORBIDDEN', role);
  }
  for (const role of ['admin', 'auditor'] as const) {
    const { res, samples } = await scrape(h, role);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-store');
    // Process defaults on the app's own registry.
    assert.ok(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total'));
    assert.ok(samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes'));
  }
  const rows = await h.db.audit.read({ writerId: h.audit.writerId, limit: 1000 });
  const scrapes = rows
    .filter((row) => row.kind === 'event')
    .map(
      (row) =>
        JSON.parse(row.payload) as {
          action: { resourceType: string | null; interaction: string };
          outcome: { status: number };
        },
    )
    .filter((event) => event.action.resourceType === 'Metrics' && event.action.interaction === 'read');
  assert.deepEqual(
    scrapes.map((event) => event.outcome.status),
    [401, 403, 403, 403, 403, 403, 200, 200],
    'every scrape attempt is audited',
  );
});

test('request durations are labelled by route pattern, method and status, never by an id or a query value', async (t) => {
  const h = await build(t);
  const token = await h.token('clinician');
  const id = await createPatient(h, token);
  const marker = 'Zq9MarkerPHI';
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await h.app.inject({ method: 'GET', url: `/api/v1/patients/${id}`, headers: auth })).statusCode, 200);
  // An admin's read: a clinician reaches only assigned patients, and an unknown id answers it 403 (docs/access-control.md).
  assert.equal(
    (
      await h.app.inject({
        method: 'GET',
        url: `/api/v1/patients/${marker}`,
        headers: { authorization: `Bearer ${await h.token('admin')}` },
      })
    ).statusCode,
    404,
  );
  assert.equal(
    (await h.app.inject({ method: 'GET', url: `/api/v1/patients?family=${marker}`, headers: auth })).statusCode,
    200,
  );
  assert.equal((await h.app.inject({ method: 'GET', url: `/no/such/${marker}?q=${marker}` })).statusCode, 404);

  const { res, samples } = await scrape(h);
  assert.ok(!res.body.includes(marker), 'no URL value reaches the metrics');
  assert.ok(!res.body.includes(id), 'no resource id reaches the metrics');
  const count = 'caduceus_http_request_duration_seconds_count';
  assert.equal(valueOf(samples, count, { route: '/api/v1/patients/:id', method: 'GET', status: '200' }), 1);
  assert.equal(valueOf(samples, count, { route: '/api/v1/patients/:id', method: 'GET', status: '404' }), 1);
  assert.equal(valueOf(samples, count, { route: '/api/v1/patients', method: 'GET', status: '200' }), 1);
  assert.equal(valueOf(samples, count, { route: '/api/v1/patients', method: 'POST', status: '201' }), 1);
  assert.equal(valueOf(samples, count, { route: 'unmatched', method: 'GET', status: '404' }), 1);
  const buckets = samples.filter(
    (sample) =>
      sample.name === 'caduceus_http_request_duration_seconds_bucket' &&
      sample.labels.route === '/api/v1/patients/:id' &&
      sample.labels.status === '200',
  );
  assert.equal(buckets.find((bucket) => bucket.labels.le === '+Inf')?.value, 1);
  assert.ok(buckets.length > 5, 'a histogram with buckets in seconds');
  // Sealing and opening the body went through the (timed) sealer.
  assert.ok(
    valueOf(samples, 'caduceus_key_operation_duration_seconds_count', { operation: 'seal', outcome: 'ok' }) >= 1,
  );
  assert.ok(
    valueOf(samples, 'caduceus_key_operation_duration_seconds_count', { operation: 'open', outcome: 'ok' }) >= 1,
  );
});

test('authentication failures are counted by reason', async (t) => {
  const h = await build(t);
  const before = (await scrape(h)).samples;
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/v1/patients', headers: { authorization: 'Bearer not.a.token' } }))
      .statusCode,
    401,
  );
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/v1/patients', headers: { authorization: 'Bearer not.a.token' } }))
      .statusCode,
    401,
  );
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/v1/patients' })).statusCode, 401);
  const revoked = await h.token('clinician', { sub: 'revoked-user' });
  await h.revocation.revokeSubject('revoked-user');
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/v1/patients', headers: { authorization: `Bearer ${revoked}` } }))
      .statusCode,
    401,
  );
  assert.equal((await h.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  const after = (await scrape(h)).samples;
  const failures = (samples: Sample[], reason: string): number =>
    valueOf(samples, 'caduceus_auth_failures_total', { reason });
  assert.equal(failures(after, 'malformed') - failures(before, 'malformed'), 2);
  assert.equal(failures(after, 'missing') - failures(before, 'missing'), 1);
  assert.equal(failures(after, 'revoked') - failures(before, 'revoked'), 1);
  const total = (samples: Sample[]): number =>
    samples
      .filter((sample) => sample.name === 'caduceus_auth_failures_total')
      .reduce((sum, sample) => sum + sample.value, 0);
  assert.equal(total(after) - total(before), 4, 'successful scrapes and public routes are not failures');
});

test('a breaker on a side path shows in the gauge and never fails a request', async (t) => {
  const h = await build(t);
  const token = await h.token('clinician');
  const id = await createPatient(h, token);
  const webhook = h.breakers.create({ name: 'alert-webhook', timeoutMs: 1_000, resetMs: 60_000, volumeThreshold: 2 });
  assert.equal(valueOf((await scrape(h)).samples, 'caduceus_circuit_breaker_state', { breaker: 'alert-webhook' }), 0);
  for (let i = 0; i < 2; i += 1)
    await assert.rejects(webhook.run(() => Promise.reject(new Error('connect ECONNREFUSED'))));
  assert.equal(webhook.state, 'open');

  const read = await h.app.inject({
    method: 'GET',
    url: `/api/v1/patients/${id}`,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(read.statusCode, 200, 'an open side-path breaker does not fail API requests');
  const { samples } = await scrape(h);
  assert.equal(valueOf(samples, 'caduceus_circuit_breaker_state', { breaker: 'alert-webhook' }), 2);
  assert.equal(
    valueOf(samples, 'caduceus_circuit_breaker_transitions_total', { breaker: 'alert-webhook', state: 'open' }),
    1,
  );
  assert.ok(
    h.securityEvents.some(
      (event) =>
        event.kind === 'breaker.state_changed' &&
        event.details.breaker === 'alert-webhook' &&
        event.details.state === 'open',
    ),
  );
});

test('audit write latency is observed, failures included; rate-limit decisions are counted by policy and outcome', async (t) => {
  let failAudit = false;
  const h = await build(t, {
    wrapAudit: (audit): AuditLog => ({
      record: (event) => (failAudit ? Promise.reject(new Error('disk full')) : audit.record(event)),
      checkpoint: () => audit.checkpoint(),
      close: () => audit.close(),
    }),
  });
  const token = await h.token('clinician');
  await createPatient(h, token);
  failAudit = true;
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/v1/patients', headers: { authorization: `Bearer ${token}` } }))
      .statusCode,
    503,
  );
  failAudit = false;
  // Policy names of our own: the app's limiter counts its real policies on the same counter.
  h.metrics.countRateLimitDecision('probe-strict', false);
  h.metrics.countRateLimitDecision('probe-loose', true);
  h.metrics.countRateLimitDecision('probe-loose', true);

  const { samples } = await scrape(h);
  // The scrape's own audit write happens after the body is rendered, so it is not in this count.
  assert.equal(valueOf(samples, 'caduceus_audit_write_duration_seconds_count', { outcome: 'ok' }), 1);
  assert.equal(valueOf(samples, 'caduceus_audit_write_duration_seconds_count', { outcome: 'error' }), 1);
  assert.ok(valueOf(samples, 'caduceus_audit_write_duration_seconds_sum', { outcome: 'ok' }) > 0);
  assert.equal(
    valueOf(samples, 'caduceus_rate_limit_decisions_total', { policy: 'probe-strict', outcome: 'limited' }),
    1,
  );
  assert.equal(
    valueOf(samples, 'caduceus_rate_limit_decisions_total', { policy: 'probe-strict', outcome: 'allowed' }),
    0,
  );
  assert.equal(
    valueOf(samples, 'caduceus_rate_limit_decisions_total', { policy: 'probe-loose', outcome: 'allowed' }),
    2,
  );
});

test('two apps in one process keep separate registries', async (t) => {
  const first = await build(t);
  const second = await build(t);
  const token = await first.token('clinician');
  await createPatient(first, token);
  const count = { route: '/api/v1/patients', method: 'POST', status: '201' };
  assert.equal(valueOf((await scrape(first)).samples, 'caduceus_http_request_duration_seconds_count', count), 1);
  assert.equal(valueOf((await scrape(second)).samples, 'caduceus_http_request_duration_seconds_count', count), 0);
});
