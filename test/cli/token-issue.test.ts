/**
 * `caduceus token issue` as a child process: what it prints, what it
 * refuses (README: at most one hour; production refuses privileged roles),
 * and the audit event every run leaves, with the operating-system user and
 * never the token (docs/audit.md; HIPAA 164.312(b)).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import {
  auditSnapshot,
  caduceusEnv,
  configFor,
  httpsRequest,
  processScope,
  runCliProcess,
  startInProcess,
  type AuditSnapshot,
  type ProcessScope,
} from '../helpers/process.js';

interface CliEvent {
  readonly category: string;
  readonly actor: { readonly osUser?: string; readonly client: string | null };
  readonly action: {
    readonly interaction: string;
    readonly details?: Readonly<Record<string, string | number | boolean>>;
  };
  readonly outcome: { readonly status: number; readonly code: string | null };
}

interface IssuedJson {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly expires_at: string;
  readonly jti: string;
  readonly sub: string;
  readonly role: string;
}

function cliEvents(snapshot: AuditSnapshot): CliEvent[] {
  return snapshot.rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as CliEvent)
    .filter((event) => event.category === 'cli');
}

/** Each event is a token.issue by this OS user through the CLI; no audit row holds any of `tokens`. */
function assertAuditedWithoutTokens(snapshot: AuditSnapshot, tokens: readonly string[]): void {
  for (const event of cliEvents(snapshot)) {
    assert.equal(event.action.interaction, 'token.issue');
    assert.equal(event.actor.osUser, userInfo().username);
    assert.equal(event.actor.client, 'caduceus-cli');
  }
  for (const token of tokens) {
    const signature = token.split('.')[2] ?? token;
    for (const row of snapshot.rows)
      assert.ok(!row.payload.includes(signature), `token in audit row ${row.writerId}#${row.seq}`);
  }
  // Each CLI run is its own writer and closes its chain: verifiable with no grace for open writers.
  assert.equal(snapshot.report.ok, true, JSON.stringify(snapshot.report.firstBad));
  for (const writer of snapshot.report.writers) assert.equal(writer.status, 'closed');
}

async function issue(scope: ProcessScope, env: Record<string, string>, ...args: string[]) {
  return runCliProcess(scope, env, ['token', 'issue', ...args]);
}

test('token issue --json prints the token response, and the token works against a server on the same data folder', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const server = await startInProcess(scope, env);
  const before = Date.now();
  const run = await issue(scope, env, '--role', 'clinician', '--json');
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'stdout must be one JSON line');
  const issued = JSON.parse(lines[0] ?? '') as IssuedJson;
  assert.deepEqual(Object.keys(issued).sort(), [
    'access_token',
    'expires_at',
    'expires_in',
    'jti',
    'role',
    'sub',
    'token_type',
  ]);
  assert.equal(issued.token_type, 'Bearer');
  assert.equal(issued.expires_in, 900, 'default --ttl is 15m');
  assert.equal(issued.role, 'clinician');
  const expiresAt = Date.parse(issued.expires_at);
  assert.ok(expiresAt >= before + 899_000 && expiresAt <= Date.now() + 901_000, issued.expires_at);
  const header = JSON.parse(Buffer.from(issued.access_token.split('.')[0] ?? '', 'base64url').toString()) as {
    typ: string;
  };
  assert.equal(header.typ, 'at+jwt');

  const body = '{"resourceType":"Patient","name":[{"family":"Chalmers"}]}';
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${issued.access_token}`, 'content-type': 'application/fhir+json' },
  });
  assert.equal(created.status, 201, created.body);
  const tampered = `${issued.access_token.slice(0, -4)}AAAA`;
  assert.equal(
    (
      await httpsRequest(`${server.url}/api/v1/patients?family=chalmers`, server.ca, {
        headers: { authorization: `Bearer ${tampered}` },
      })
    ).status,
    401,
  );

  await server.stop();
  const snapshot = await auditSnapshot(server.config);
  const events = cliEvents(snapshot);
  assert.equal(events.length, 1);
  const [event] = events;
  assert.ok(event !== undefined);
  assert.deepEqual(event.outcome, { status: 201, code: null });
  assert.deepEqual(
    { ...event.action.details },
    { role: 'clinician', ttlSeconds: 900, subject: issued.sub, jti: issued.jti },
  );
  assertAuditedWithoutTokens(snapshot, [issued.access_token]);
});

test('--ttl is capped at one hour; the role must be known; a patient token needs --patient', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const ok = await issue(scope, env, '--role', 'nurse', '--ttl', '30m', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as IssuedJson).expires_in, 1800);
  const hour = await issue(scope, env, '--role', 'nurse', '--ttl', '1h', '--json');
  assert.equal(hour.code, 0, hour.stderr);

  const refusals: readonly (readonly string[])[] = [
    ['--role', 'nurse', '--ttl', '2h'],
    ['--role', 'nurse', '--ttl', '3601'],
    ['--role', 'nurse', '--ttl', '0'],
    ['--role', 'nurse', '--ttl', 'soon'],
    ['--role', 'superuser'],
    ['--role', 'patient'],
    [],
  ];
  for (const args of refusals) {
    const run = await issue(scope, env, ...args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stdout, '', `${args.join(' ')} printed a result`);
    assert.ok(run.stderr.length > 0);
  }
  const patient = await issue(scope, env, '--role', 'patient', '--patient', 'p-123', '--json');
  assert.equal(patient.code, 0, patient.stderr);
  const claims = JSON.parse(
    Buffer.from((JSON.parse(patient.stdout) as IssuedJson).access_token.split('.')[1] ?? '', 'base64url').toString(),
  ) as { patient: string };
  assert.equal(claims.patient, 'p-123');
});

test('production mode refuses admin, clinician, nurse and auditor tokens (exit 1) and allows billing and device; every run is audited', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir, { CADUCEUS_ENV: 'production' });
  const tokens: string[] = [];
  for (const role of ['admin', 'clinician', 'nurse', 'auditor']) {
    const run = await issue(scope, env, '--role', role, '--json');
    assert.equal(run.code, 1, `${role}: ${run.stderr}`);
    assert.equal(run.stdout, '', `${role} printed a token`);
    assert.match(run.stderr, /production/);
  }
  for (const role of ['billing', 'device']) {
    const run = await issue(scope, env, '--role', role, '--json');
    assert.equal(run.code, 0, `${role}: ${run.stderr}`);
    tokens.push((JSON.parse(run.stdout) as IssuedJson).access_token);
  }
  const snapshot = await auditSnapshot(configFor(env));
  const events = cliEvents(snapshot);
  const outcomes = events
    .map((event) => `${String(event.action.details?.role)}:${event.outcome.status}:${String(event.outcome.code)}`)
    .sort();
  assert.deepEqual(outcomes, [
    'admin:403:FORBIDDEN',
    'auditor:403:FORBIDDEN',
    'billing:201:null',
    'clinician:403:FORBIDDEN',
    'device:201:null',
    'nurse:403:FORBIDDEN',
  ]);
  assert.equal(snapshot.report.writers.length, 6, 'one writer per CLI run');
  assertAuditedWithoutTokens(snapshot, tokens);
});

test('a refused invocation (bad --ttl, unknown role, patient without --patient, unknown flag) still leaves its audit event', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const refusals = [
    ['--role', 'nurse', '--ttl', '2h'],
    ['--role', 'superuser'],
    ['--role', 'patient'],
    ['--role', 'nurse', '--bogus'],
  ];
  for (const args of refusals) assert.equal((await issue(scope, env, ...args)).code, 2);
  const snapshot = await auditSnapshot(configFor(env));
  const events = cliEvents(snapshot);
  assert.equal(events.length, refusals.length);
  for (const event of events) assert.deepEqual(event.outcome, { status: 400, code: 'VALIDATION_ERROR' });
  assertAuditedWithoutTokens(snapshot, []);
});
