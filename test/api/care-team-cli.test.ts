/**
 * The operator side of access control: `caduceus token issue --amr` (MFA
 * tokens for tests and bootstrap, refused in production) against a real
 * server, and the `user assign-patient` handler (src/cli/user-assign-patient.ts)
 * on the server's own data folder, audited with the operating-system user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { pino } from 'pino';
import type { AuditEvent } from '../../src/audit/event.js';
import { userAssignPatientCommand } from '../../src/cli/user-assign-patient.js';
import type { CliError } from '../../src/cli/output.js';
import { openRuntime } from '../../src/runtime.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  runCliProcess,
  signToken,
  startInProcess,
} from '../helpers/process.js';

test('token issue --amr writes amr for MFA-only operations; bad values and production are refused', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const server = await startInProcess(scope, env);
  const issue = async (...args: string[]) => runCliProcess(scope, env, ['token', 'issue', '--role', 'admin', ...args]);
  const plain = (await issue()).stdout.trim();
  const stepped = await issue('--amr', 'pwd,otp', '--json');
  assert.equal(stepped.code, 0, stepped.stderr);
  const token = (JSON.parse(stepped.stdout) as { access_token: string }).access_token;
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    amr: string[];
    scope: string;
  };
  assert.deepEqual(claims.amr, ['pwd', 'otp']);
  assert.equal(claims.scope, 'openid fhirUser user/*.cruds');

  const headers = (bearer: string) => ({ authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' });
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    body: '{"resourceType":"Patient"}',
    headers: headers(plain),
  });
  assert.equal(created.status, 201, created.body);
  const id = (JSON.parse(created.body) as { id: string }).id;
  const refused = await httpsRequest(`${server.url}/api/v1/patients/${id}`, server.ca, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${plain}` },
  });
  assert.equal(refused.status, 401);
  assert.match(String(refused.headers['www-authenticate']), /insufficient_user_authentication/);
  assert.equal(
    (
      await httpsRequest(`${server.url}/api/v1/patients/${id}`, server.ca, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      })
    ).status,
    204,
  );

  for (const bad of ['otp,otp', 'magic', '']) {
    const run = await issue('--amr', bad);
    assert.equal(run.code, 2, bad);
    assert.equal(run.stdout, '');
  }
  const production = caduceusEnv(scope.dir, { CADUCEUS_ENV: 'production' });
  const prod = await runCliProcess(scope, production, ['token', 'issue', '--role', 'billing', '--amr', 'otp']);
  assert.equal(prod.code, 1, prod.stderr);
  assert.equal(prod.stdout, '');
  assert.match(prod.stderr, /refuses --amr/);
});

test('user assign-patient: assigns and removes through the care-team store; refusals; every run audited', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const server = await startInProcess(scope, env);
  const admin = await signToken(server.config, 'admin');
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    body: '{"resourceType":"Patient"}',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json' },
  });
  const patient = (JSON.parse(created.body) as { id: string }).id;
  const runtime = await openRuntime(server.config, pino({ level: 'silent' }));
  t.after(() => runtime.close());
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    try {
      await userAssignPatientCommand(runtime, args, { out: (text) => out.push(text), err: (text) => err.push(text) });
      return { code: 0, out: out.join('\n') };
    } catch (error) {
      return { code: (error as CliError).exitCode, out: (error as Error).message };
    }
  };
  const clinician = await signToken(server.config, 'clinician', 'dr-cli');
  const read = async () =>
    (
      await httpsRequest(`${server.url}/api/v1/patients/${patient}`, server.ca, {
        headers: { authorization: `Bearer ${clinician}` },
      })
    ).status;

  assert.equal(await read(), 403);
  const assigned = await run('--subject', 'dr-cli', '--patient', patient, '--json');
  assert.equal(assigned.code, 0, assigned.out);
  const result = JSON.parse(assigned.out) as {
    assignment: { subject: string; patient: string; assignedBy: string };
    created: boolean;
  };
  assert.deepEqual(
    { ...result.assignment, id: undefined, assignedAt: undefined },
    { subject: 'dr-cli', patient, assignedBy: `cli:${userInfo().username}`, id: undefined, assignedAt: undefined },
  );
  assert.equal(result.created, true);
  assert.equal(await read(), 200);
  assert.equal(
    (JSON.parse((await run('--subject', 'dr-cli', '--patient', patient, '--json')).out) as { created: boolean })
      .created,
    false,
  );

  for (const args of [
    ['--patient', patient],
    ['--subject', 'a', '--user', 'b', '--patient', patient],
    ['--subject', 'dr-cli'],
    ['--subject', 'dr cli', '--patient', patient],
    ['--subject', 'dr-cli', '--patient', 'a/b'],
    ['--subject', 'dr-cli', '--patient', patient, '--force'],
  ]) {
    assert.equal((await run(...args)).code, 2, args.join(' '));
  }
  assert.deepEqual(await run('--subject', 'dr-cli', '--patient', 'no-such-patient'), {
    code: 1,
    out: 'no current Patient has this id',
  });
  assert.deepEqual(await run('--user', 'nobody-here', '--patient', patient), { code: 1, out: 'no such user' });

  assert.equal((await run('--subject', 'dr-cli', '--patient', patient, '--remove')).code, 0);
  assert.equal(await read(), 403);
  assert.equal((await run('--subject', 'dr-cli', '--patient', patient, '--remove')).code, 1);

  const events: AuditEvent[] = [];
  for (const { writerId } of await runtime.db.audit.writers()) {
    events.push(
      ...(await runtime.db.audit.read({ writerId, limit: 10_000 }))
        .filter((row) => row.kind === 'event')
        .map((row) => JSON.parse(row.payload) as AuditEvent),
    );
  }
  const cli = events.filter((event) => event.action.interaction === 'user.assign-patient');
  // 2 assigns, 6 usage refusals, an unknown patient, an unknown user, 2 removals.
  assert.equal(cli.length, 12);
  for (const event of cli) assert.equal(event.actor.osUser, userInfo().username);
  assert.deepEqual(
    cli.map((event) => event.outcome.status).sort(),
    [200, 200, 201, 400, 400, 400, 400, 400, 400, 400, 400, 404],
  );
});
