/**
 * The `postgres` circuit breaker on the request path, against a real
 * PostgreSQL (docs/circuit-breakers.md). Another connection takes ACCESS
 * EXCLUSIVE locks on the app's tables, so the app's queries
 * stall as on a stuck server while the shared server stays up for everyone
 * else; the test then releases them and watches the breaker recover.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { createBreakers, type Breaker } from '../../src/lib/circuit-breaker.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { isPgCallerError } from '../../src/storage/postgres/pool.js';
import { build, type TestApp } from '../helpers/app.js';
import { postgresSkip, testPostgresBaseUrl } from '../helpers/database.js';
import { until } from '../helpers/until.js';

const skip = await postgresSkip();
const resetMs = 2_000;

function assert503(res: LightMyRequestResponse, what: string, retryAfter: boolean): void {
  assert.equal(res.statusCode, 503, `${what}: ${res.body}`);
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'SERVICE_UNAVAILABLE', what);
  if (retryAfter) {
    const seconds = Number(res.headers['retry-after']);
    assert.ok(
      Number.isInteger(seconds) && seconds >= 1 && seconds <= Math.ceil(resetMs / 1000),
      `${what}: Retry-After ${String(res.headers['retry-after'])}`,
    );
  }
}

/** Lock requests of the app's backends that wait on the schema's tables. */
async function lockWaiters(client: pg.Client, schema: string): Promise<number> {
  const result = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE NOT l.granted AND s.nspname = $1`,
    [schema],
  );
  return result.rows[0]!.n;
}

function authFailures(h: TestApp, reason: string): Promise<number> {
  return h.metrics.render().then((body) => {
    const line = body.split('\n').find((text) => text.startsWith(`caduceus_auth_failures_total{reason="${reason}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  });
}

interface Stage {
  readonly h: TestApp;
  readonly postgres: Breaker;
  readonly locker: pg.Client;
  readonly schema: string;
  readonly id: string;
  readonly auth: Record<string, string>;
}

/** Stalls the app's tables from another connection until the breaker opens, then checks what clients see while it is open. */
async function stallUntilOpen({ h, postgres, locker, schema, id, auth }: Stage): Promise<void> {
  // 1. The search index stalls: a create reads, opens its transaction, writes the version, then waits on the
  // index; that statement times out and the request answers 503. The breaker stays closed.
  await locker.query('LOCK TABLE search_index IN ACCESS EXCLUSIVE MODE');
  const stalledCreate = await h.app.inject({
    method: 'POST',
    url: '/api/v1/patients',
    headers: { ...auth, 'content-type': 'application/fhir+json' },
    payload: { resourceType: 'Patient', gender: 'male' },
  });
  assert503(stalledCreate, 'a create that timed out', true);
  assert.equal(postgres.state, 'closed', 'one slow call among many good ones does not open the breaker');

  // 2. Everything stalls (revocation list and audit log too): failures pile up until the breaker opens.
  await locker.query('LOCK TABLE resources, resource_versions, kv, audit_log IN ACCESS EXCLUSIVE MODE');
  const isOpen = (): boolean => postgres.state === 'open'; // read afresh: the assertions above narrowed the type
  for (let i = 0; i < 40 && !isOpen(); i += 1) {
    assert503(
      await h.app.inject({ method: 'GET', url: `/api/v1/patients/${id}`, headers: auth }),
      `read ${i} while stalled`,
      false,
    );
  }
  assert.equal(postgres.state, 'open');
  assert.ok(
    h.securityEvents.some(
      (event) =>
        event.kind === 'breaker.state_changed' &&
        event.details.breaker === 'postgres' &&
        event.details.state === 'open',
    ),
  );
  assert.match(await h.metrics.render(), /^caduceus_circuit_breaker_state\{breaker="postgres"\} 2$/m);

  // 3. Open: refused before authentication, so no statement is sent (no new lock waiter, no revocation check).
  const waitersBefore = await lockWaiters(locker, schema);
  const revocationFailuresBefore = await authFailures(h, 'revocation_unavailable');
  const requests = [
    { method: 'GET' as const, url: `/api/v1/patients/${id}` },
    { method: 'GET' as const, url: '/api/v1/patients?gender=female' },
    { method: 'POST' as const, url: '/api/v1/patients' },
    { method: 'GET' as const, url: '/metrics' },
  ];
  for (const request of requests) {
    const res = await h.app.inject({
      ...request,
      headers: { ...auth, 'content-type': 'application/fhir+json' },
      ...(request.method === 'POST' && { payload: { resourceType: 'Patient' } }),
    });
    assert503(res, `${request.method} ${request.url} while open`, true);
  }
  assert503(await h.app.inject({ method: 'GET', url: '/ready' }), '/ready while open', false);
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/health' })).statusCode,
    200,
    'liveness does not depend on the database',
  );
  assert.equal(
    await lockWaiters(locker, schema),
    waitersBefore,
    'no request reached PostgreSQL while the breaker was open',
  );
  assert.equal(
    await authFailures(h, 'revocation_unavailable'),
    revocationFailuresBefore,
    'no revocation check was attempted',
  );
}

/** After the locks are gone: one trial after the reset time closes the breaker; nothing was left half-done. */
async function assertRecovery({ h, postgres, id, auth }: Stage): Promise<void> {
  await until(() => postgres.state === 'half-open', 15_000, 'the postgres breaker half-open');
  const recovered = await h.app.inject({ method: 'GET', url: `/api/v1/patients/${id}`, headers: auth });
  assert.equal(recovered.statusCode, 200, recovered.body);
  assert.equal(postgres.state, 'closed');
  assert.deepEqual(
    h.securityEvents
      .filter((event) => event.kind === 'breaker.state_changed' && event.details.breaker === 'postgres')
      .map((event) => event.details.state),
    ['open', 'half-open', 'closed'],
  );
  const metrics = await h.app.inject({ method: 'GET', url: '/metrics', headers: auth });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.body, /^caduceus_circuit_breaker_state\{breaker="postgres"\} 0$/m);
  for (const state of ['open', 'half-open', 'closed']) {
    assert.match(
      metrics.body,
      new RegExp(`^caduceus_circuit_breaker_transitions_total\\{breaker="postgres",state="${state}"\\} 1$`, 'm'),
    );
  }

  // The timed-out create was never committed, and the audit chain still verifies.
  const search = await h.app.inject({ method: 'GET', url: '/api/v1/patients', headers: auth });
  assert.equal(search.statusCode, 200);
  assert.deepEqual(
    search.json<{ entry?: { resource: { id: string } }[] }>().entry?.map((entry) => entry.resource.id),
    [id],
  );
  await h.audit.checkpoint();
  const report = await verifyAuditLog({
    store: h.db.audit,
    publicKeys: await h.keys.publicKeys('audit-signing'),
    openWriterGraceMs: 60_000,
  });
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
}

test(
  'a stalled PostgreSQL opens the breaker: 503 + Retry-After at once, no statement reaches the database, then recovery',
  { skip, timeout: 60_000 },
  async (t) => {
    // Connected (and its cleanup registered) before the app: after hooks run in order, so even a failed or timed-out
    // test releases the locks before the app's pool closes, which waits for the statements stuck behind them.
    const locker = new pg.Client({ connectionString: testPostgresBaseUrl() });
    await locker.connect();
    t.after(() => locker.end().catch(() => undefined));
    const h = await build(t, {
      database: 'postgres',
      env: { CADUCEUS_DB_TIMEOUT_MS: '400', CADUCEUS_BREAKER_RESET_MS: String(resetMs) },
    });
    const schema = new URL(h.databaseUrl).searchParams.get('schema')!;
    const postgres = h.breakers.list().find((breaker) => breaker.name === 'postgres');
    assert.ok(postgres, 'the app runs PostgreSQL behind a breaker');
    const auth = { authorization: `Bearer ${await h.token('admin')}` };
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/patients',
      headers: { ...auth, 'content-type': 'application/fhir+json' },
      payload: { resourceType: 'Patient', gender: 'female' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;

    await locker.query(`SET search_path TO "${schema}"`);
    const stage: Stage = { h, postgres, locker, schema, id, auth };
    await locker.query('BEGIN');
    try {
      await stallUntilOpen(stage);
    } finally {
      // Released here, also on failure: the app's pool cannot close while its statements wait on these locks.
      await locker.query('ROLLBACK');
    }
    await assertRecovery(stage);
  },
);

test('caller errors from PostgreSQL do not count against the breaker; lost connections do', { skip }, async (t) => {
  const client = new pg.Client({ connectionString: testPostgresBaseUrl() });
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  const errorOf = (sql: string): Promise<unknown> =>
    client.query(sql).then(
      () => assert.fail(`${sql} succeeded`),
      (error: unknown) => error,
    );
  const division = await errorOf('SELECT 1/0');
  const syntax = await errorOf('SELEC 1');
  await client.query('CREATE TEMP TABLE breaker_probe (id int PRIMARY KEY)');
  await client.query('INSERT INTO breaker_probe VALUES (1)');
  const duplicate = await errorOf('INSERT INTO breaker_probe VALUES (1)');
  for (const error of [division, syntax, duplicate])
    assert.equal(isPgCallerError(error), true, String((error as { code?: string }).code));

  const victim = new pg.Client({ connectionString: testPostgresBaseUrl() });
  victim.on('error', () => undefined);
  await victim.connect();
  const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const terminated = victim.query('SELECT pg_sleep(5)').then(
    () => assert.fail('not terminated'),
    (error: unknown) => error,
  );
  await client.query('SELECT pg_terminate_backend($1)', [pid]);
  const refused = await new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/none' }).connect().then(
    () => assert.fail('connected'),
    (error: unknown) => error as Error,
  );
  for (const error of [await terminated, refused])
    assert.equal(isPgCallerError(error), false, String((error as { code?: string }).code));
  await victim.end().catch(() => undefined);

  const breakers = createBreakers(createSecurityEvents(pino({ level: 'silent' })));
  t.after(() => {
    breakers.shutdown();
  });
  const options = { timeoutMs: 1_000, resetMs: 60_000, volumeThreshold: 3, isCallerError: isPgCallerError };
  const callers = breakers.create({ name: 'postgres-callers', ...options });
  for (let i = 0; i < 10; i += 1)
    await assert.rejects(
      callers.run(() => client.query('INSERT INTO breaker_probe VALUES (1)')),
      /duplicate key/,
    );
  assert.equal(callers.state, 'closed', "unique violations are the caller's, not the database's");
  const lost = breakers.create({ name: 'postgres-lost', ...options });
  for (let i = 0; i < 3; i += 1) await assert.rejects(lost.run(() => Promise.reject(refused)));
  assert.equal(lost.state, 'open');
});
