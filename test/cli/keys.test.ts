/**
 * `caduceus keys rotate` and `caduceus keys status` as an operator runs them
 * (docs/key-management.md "Rotation"): usage refusals, the audit trail with
 * the operating-system user, token-signing rotation against a running
 * server (old tokens still verify, new tokens carry the new kid, the audit
 * log still verifies), and the server's scheduled rotation taken by exactly
 * one of two servers sharing a database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import BetterSqlite3 from 'better-sqlite3';
import { decodeProtectedHeader } from 'jose';
import type { AuditEvent } from '../../src/audit/event.js';
import { createProgressReporter } from '../../src/cli/keys-progress.js';
import type { KeyStatus, RotationProgress } from '../../src/rotation/index.js';
import {
  auditSnapshot,
  caduceusEnv,
  configFor,
  httpsRequest,
  processScope,
  runCliProcess,
  startInProcess,
  type ProcessScope,
} from '../helpers/process.js';

async function status(scope: ProcessScope, env: Record<string, string>): Promise<KeyStatus> {
  const run = await runCliProcess(scope, env, ['keys', 'status', '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as KeyStatus;
}

function cliEvents(rows: readonly { kind: string; payload: string }[], interaction: string): AuditEvent[] {
  return rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as AuditEvent)
    .filter((event) => event.action.interaction === interaction);
}

async function issue(scope: ProcessScope, env: Record<string, string>): Promise<string> {
  const run = await runCliProcess(scope, env, ['token', 'issue', '--role', 'clinician']);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trim();
}

test('keys rotate refuses bad usage (exit 2, audited), status on a fresh folder lists one KEK and no data key', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  for (const args of [[], ['--data', '--kek'], ['--data', '--batch', '0']]) {
    const run = await runCliProcess(scope, env, ['keys', 'rotate', ...args]);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /usage: caduceus keys rotate|--batch must be/);
    assert.equal(run.stdout, '');
  }
  const bad = await runCliProcess(scope, env, ['keys', 'status', '--verbose']);
  assert.equal(bad.code, 2);
  const fresh = await status(scope, env);
  assert.equal(fresh.keks.length, 1);
  assert.deepEqual(
    { state: fresh.keks[0]?.state, dataKeys: fresh.keks[0]?.dataKeys },
    { state: 'current', dataKeys: 0 },
  );
  assert.deepEqual(fresh.dataKeys, []);
  assert.deepEqual(fresh.records, { total: 0, unsealed: 0 });
  assert.equal(fresh.job, null);
  assert.equal(fresh.signing['token-signing'].length, 1);
  const text = JSON.stringify(fresh);
  assert.ok(!/privateKey|wrapped|"key"/.test(text), 'ids and counts only, never key material');
  const { rows } = await auditSnapshot(configFor(env));
  const refusals = cliEvents(rows, 'keys.rotate');
  assert.equal(refusals.length, 3);
  for (const event of refusals) {
    assert.deepEqual(
      [event.outcome.status, event.actor.osUser, event.action.details?.refused],
      [400, userInfo().username, 'usage'],
    );
  }
  assert.equal(cliEvents(rows, 'keys.status').length, 1);
});

test(
  'keys rotate --signing: tokens signed before still verify, new tokens carry the new kid, the audit log still verifies',
  { timeout: 60_000 },
  async (t) => {
    const scope = await processScope(t);
    const env = caduceusEnv(scope.dir);
    // The server re-reads its keyring when Date.now says 5 s have passed since it last looked: a fake Date,
    // enabled before it starts, is moved past that instead of the test waiting. It is set from the real clock,
    // never behind it, since the CLI processes sign tokens on the real one.
    const epochAtZero = Date.now() - performance.now();
    const realClock = (): number => Math.round(epochAtZero + performance.now());
    t.mock.timers.enable({ apis: ['Date'], now: realClock() });
    const server = await startInProcess(scope, env);
    const before = await issue(scope, env);
    const oldKid = decodeProtectedHeader(before).kid;
    const rotated = await runCliProcess(scope, env, ['keys', 'rotate', '--signing', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [outcome] = (
      JSON.parse(rotated.stdout) as {
        rotated: { kind: string; tokenSigning: { kid: string; previous: string[] }; auditSigning: { kid: string } }[];
      }
    ).rotated;
    assert.equal(outcome?.kind, 'signing');
    assert.notEqual(outcome.tokenSigning.kid, oldKid);
    assert.deepEqual(outcome.tokenSigning.previous, [oldKid]);

    const after = await issue(scope, env);
    assert.equal(
      decodeProtectedHeader(after).kid,
      outcome.tokenSigning.kid,
      'a token issued after the rotation is signed by the new key',
    );
    const get = (token: string) =>
      httpsRequest(`${server.url}/api/v1/patients?_count=1`, server.ca, {
        headers: { authorization: `Bearer ${token}` },
      });
    t.mock.timers.setTime(realClock());
    assert.equal((await get(before)).status, 200, 'the old token still verifies: its key stays published');
    // The server re-reads the keyring at most 5 s after a rotation by another process.
    t.mock.timers.setTime(realClock() + 5000);
    const reloaded = await get(after);
    assert.equal(
      reloaded.status,
      200,
      `the new token verifies once the server has reloaded the keyring: ${reloaded.body}`,
    );
    const keys = await status(scope, env);
    assert.deepEqual(
      keys.signing['token-signing'].map((key) => [key.kid, key.state]),
      [
        [outcome.tokenSigning.kid, 'current'],
        [oldKid, 'previous'],
      ],
    );
    assert.equal(keys.signing['audit-signing'][0]?.kid, outcome.auditSigning.kid);

    await server.stop();
    const { report, rows } = await auditSnapshot(server.config);
    assert.equal(report.ok, true, 'checkpoints signed before and after the audit-key rotation all verify');
    const [event] = cliEvents(rows, 'keys.rotate');
    assert.deepEqual(
      [event?.outcome.status, event?.actor.osUser, event?.action.details?.kind, event?.action.details?.tokenSigningKid],
      [200, userInfo().username, 'signing', outcome.tokenSigning.kid],
    );
  },
);

test(
  'scheduled rotation: with CADUCEUS_KEY_ROTATION_DAYS=1 and a data key two days old, exactly one of two servers rotates',
  { timeout: 90_000 },
  async (t) => {
    const scope = await processScope(t);
    const env = caduceusEnv(scope.dir, { CADUCEUS_DATA_KEY_REFRESH_MS: '200' });
    const first = await startInProcess(scope, env);
    const token = await issue(scope, env);
    const created = await httpsRequest(`${first.url}/api/v1/patients`, first.ca, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Scheduled' }] }),
    });
    assert.equal(created.status, 201, created.body);
    await first.stop();
    const old = await status(scope, env);
    assert.equal(old.dataKeys.length, 1);
    // Age the key behind the port, as two days of running would.
    const raw = new BetterSqlite3(configFor(env).databaseUrl);
    try {
      raw.prepare('UPDATE data_keys SET created_at = ?').run(new Date(Date.now() - 2 * 86_400_000).toISOString());
    } finally {
      raw.close();
    }
    const scheduled = { ...env, CADUCEUS_KEY_ROTATION_DAYS: '1' };
    const [a, b] = [await startInProcess(scope, scheduled), await startInProcess(scope, scheduled)];
    let now = old;
    for (let waited = 0; waited < 40_000; waited += 1000) {
      now = await status(scope, env);
      if (
        now.dataKeys.length > 1 &&
        now.job === null &&
        now.dataKeys.every((key) => key.state === 'current' || key.records === 0)
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await Promise.all([a.stop(), b.stop()]);
    assert.equal(now.dataKeys.length, 2, `one rotation, not two: ${JSON.stringify(now.dataKeys)}`);
    assert.equal(
      now.dataKeys.find((key) => key.id === old.dataKeys[0]?.id)?.records,
      0,
      'the old key protects nothing any more',
    );
    assert.equal(now.keks.length, 2, 'the KEK was rotated too, once');
    const { rows } = await auditSnapshot(configFor(env));
    const events = cliEvents(rows, 'keys.rotate').filter((event) => event.action.details?.trigger === 'schedule');
    assert.deepEqual(events.map((event) => event.action.details?.kind).sort(), ['data', 'kek']);
    assert.ok(events.every((event) => event.actor.client === 'caduceus-scheduler'));
  },
);

test('progress: a bar redrawn in place on a terminal, a line per 10 % otherwise, JSON lines with --json', () => {
  const step = (moved: number, phase: RotationProgress['phase'] = 'pass'): RotationProgress => ({
    kind: 'data',
    phase,
    pass: 1,
    total: 200,
    processed: moved,
    moved,
    conflicts: 0,
  });
  const drawn: string[] = [];
  const tty = createProgressReporter(
    {
      kind: 'tty',
      terminal: {
        columns: 120,
        write: (text) => {
          drawn.push(text);
          return true;
        },
      },
    },
    { out: () => undefined, err: () => undefined },
  );
  for (const moved of [0, 50, 200]) tty.report(step(moved));
  tty.end();
  assert.equal(drawn.length, 4);
  assert.ok(
    drawn.slice(0, 3).every((text) => text.startsWith('\r\x1b[2K[') && !text.includes('\n')),
    'redrawn in place',
  );
  assert.match(drawn[1] ?? '', /\[#{8}-{22}\] {2}25% data pass 1: 50\/200 records re-encrypted/);
  assert.match(drawn[2] ?? '', /\[#{30}\] 100%/);
  assert.equal(drawn[3], '\n', 'the bar ends with a newline');

  const lines: string[] = [];
  const plain = createProgressReporter(
    { kind: 'plain' },
    {
      out: () => undefined,
      err: (text) => {
        lines.push(text);
      },
    },
  );
  for (let moved = 0; moved <= 200; moved += 5) plain.report(step(moved));
  plain.report(step(200, 'waiting'));
  assert.equal(lines.length, 12, 'one line per 10 % step and one for the wait');
  assert.ok(lines.every((line) => !line.includes('\r')));
  assert.match(lines.at(-1) ?? '', /waiting for every process to use the new key/);

  const json: string[] = [];
  const machine = createProgressReporter(
    { kind: 'json' },
    {
      out: () => undefined,
      err: (text) => {
        json.push(text);
      },
    },
  );
  machine.report(step(100));
  assert.deepEqual(JSON.parse(json[0] ?? ''), { event: 'keys.rotation_progress', ...step(100), percent: 50 });
});

test(
  'keys rotate --index: a running server finds the same patients before and after, and the old index key is retired',
  { timeout: 90_000 },
  async (t) => {
    const scope = await processScope(t);
    // Key refresh every 200 ms: the rotation's grace periods (two refreshes and a second) stay short.
    const env = caduceusEnv(scope.dir, { CADUCEUS_DATA_KEY_REFRESH_MS: '200' });
    const server = await startInProcess(scope, env);
    const token = (await runCliProcess(scope, env, ['token', 'issue', '--role', 'admin'])).stdout.trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
    const created: string[] = [];
    for (const family of ['Rotherham', 'Rotherham', 'Quillfeather']) {
      const answer = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
        method: 'POST',
        headers,
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family }] }),
      });
      assert.equal(answer.status, 201, answer.body);
      created.push((JSON.parse(answer.body) as { id: string }).id);
    }
    const search = async (query: string): Promise<string[]> => {
      const answer = await httpsRequest(`${server.url}/api/v1/patients?${query}`, server.ca, { headers });
      assert.equal(answer.status, 200, answer.body);
      return ((JSON.parse(answer.body) as { entry?: { resource: { id: string } }[] }).entry ?? [])
        .map((entry) => entry.resource.id)
        .sort();
    };
    const expected = { exact: created.slice(0, 2).sort(), prefix: created.slice(0, 2).sort(), other: [created[2]!] };
    const before = await status(scope, env);
    assert.equal(before.indexKeys.length, 1);
    const oldKey = before.indexKeys[0]!.id;
    assert.deepEqual(
      {
        exact: await search('family=Rotherham'),
        prefix: await search('family=roth'),
        other: await search('name=Quillfeather'),
      },
      expected,
    );

    const rotated = await runCliProcess(scope, env, ['keys', 'rotate', '--index', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [outcome] = (
      JSON.parse(rotated.stdout) as {
        rotated: { kind: string; keyId: string; retiredKeyId: string | null; reindexed: number }[];
      }
    ).rotated;
    assert.equal(outcome?.kind, 'index');
    assert.notEqual(outcome.keyId, oldKey);
    assert.equal(outcome.retiredKeyId, oldKey);
    assert.equal(outcome.reindexed, 3);

    assert.deepEqual(
      {
        exact: await search('family=Rotherham'),
        prefix: await search('family=roth'),
        other: await search('name=Quillfeather'),
      },
      expected,
      'the running server searches under the new key',
    );
    const after = await status(scope, env);
    assert.deepEqual(
      after.indexKeys.map((key) => [key.id, key.state]).sort(),
      [
        [oldKey, 'retired'],
        [outcome.keyId, 'written'],
      ].sort(),
    );
    await server.stop();
    const [event] = cliEvents((await auditSnapshot(server.config)).rows, 'keys.rotate');
    assert.deepEqual(
      [event?.outcome.status, event?.actor.osUser, event?.action.details?.kind],
      [200, userInfo().username, 'index'],
    );
  },
);
