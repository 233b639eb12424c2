/**
 * `npm run simulate:attacks` against a real server process (docs/monitoring.md
 * "Attack simulation"): low thresholds, working hours that exclude now,
 * 127.0.0.1 trusted as a proxy, an alert webhook on a dead allow-listed loopback port, SQLite.
 * Every alert kind must then be in `GET /api/v1/alerts`, the simulation's
 * own summary must agree, and no token may appear in its output.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertKinds, type Alert, type AlertKind } from '../../src/storage/alerts.js';
import { scenarios } from '../../scripts/attacks/index.js';
import type { Summary } from '../../scripts/attacks/report.js';
import {
  caduceusEnv,
  configFor,
  httpsRequest,
  jwtPattern,
  processScope,
  repoRoot,
  signToken,
  spawnServer,
  type ProcessScope,
} from '../helpers/process.js';

/** Thresholds low enough for the simulation to finish in seconds (docs/monitoring.md "Attack simulation"). */
const lowThresholds =
  'failed_login_burst_account=5/5m,failed_login_burst_ip=10/5m,patient_snooping=5/1h,bulk_read=20/10m,repeated_forbidden=5/5m,rate_limit_storm=10/1m';

/** A one-hour working window starting two hours from now (UTC): now is outside it. */
function hoursExcludingNow(): string {
  const at = (offsetHours: number): string =>
    new Date(Date.now() + offsetHours * 3_600_000).toISOString().slice(11, 16);
  return `${at(2)}-${at(3)} UTC`;
}

/** A loopback port nothing listens on: bound by the OS, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  assert.ok(typeof address === 'object' && address !== null);
  return address.port;
}

interface SimulationRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run simulate:attacks -- …` as its script runs it, with the server's environment (as the CLI needs). */
async function runSimulation(
  scope: ProcessScope,
  env: Readonly<Record<string, string>>,
  args: readonly string[],
): Promise<SimulationRun> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CADUCEUS_') && name !== 'NODE_TEST_CONTEXT' && name !== 'NODE_OPTIONS',
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/simulate-attacks.ts', ...args], {
    cwd: repoRoot,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', resolve);
  });
  scope.defer(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
    await exited;
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { code: await exited, stdout, stderr };
}

test('the simulation has exactly one scenario per alert kind', () => {
  assert.deepEqual(scenarios.map((scenario) => scenario.kind).sort(), [...alertKinds].sort());
});

test('npm run simulate:attacks raises every alert kind on a running server', { timeout: 90_000 }, async (t) => {
  const scope = await processScope(t, 'caduceus-attacks-');
  const env = caduceusEnv(scope.dir, {
    CADUCEUS_LOG_LEVEL: 'info',
    CADUCEUS_TRUSTED_PROXIES: '127.0.0.1',
    CADUCEUS_ALERT_RULES: lowThresholds,
    CADUCEUS_ALERT_HOURS: hoursExcludingNow(),
    CADUCEUS_ALERT_WEBHOOK_URL: `https://127.0.0.1:${String(await deadPort())}/alerts`,
    CADUCEUS_ALERT_WEBHOOK_SECRET: 'simulation-webhook-secret-not-a-real-one',
    CADUCEUS_ALERT_WEBHOOK_ALLOW: '127.0.0.1',
  });
  const server = await spawnServer(scope, env);
  const run = await runSimulation(scope, env, [
    '--url',
    server.url,
    '--ca',
    server.config.tls.certPath,
    '--data-dir',
    scope.dir,
    '--json',
    '--wait',
    '8',
  ]);
  const summary = JSON.parse(run.stdout) as Summary;

  await t.test('the summary says every kind ran and was raised', () => {
    assert.equal(summary.proxyTrusted, true);
    assert.deepEqual(summary.results.map((row) => row.kind).sort(), [...alertKinds].sort());
    for (const row of summary.results) {
      assert.equal(row.status, 'ran', `${row.kind}: ${row.note}`);
      assert.equal(row.raised, true, `${row.kind}: ${row.note}`);
    }
    assert.deepEqual(summary.missing, [], run.stderr);
    assert.equal(run.code, 0);
  });

  await t.test('GET /api/v1/alerts holds every kind the summary reports', async () => {
    const token = await signToken(configFor(env), 'auditor', 'test-attack-auditor');
    const kinds = new Set<AlertKind>();
    for (let path: string | null = `/api/v1/alerts?since=${encodeURIComponent(summary.since)}`; path !== null;) {
      const response = await httpsRequest(`${server.url}${path}`, server.ca, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200, response.body);
      const page = JSON.parse(response.body) as { alerts: Alert[]; next: string | null };
      for (const alert of page.alerts) kinds.add(alert.kind);
      path = page.next;
    }
    assert.deepEqual([...kinds].sort(), [...alertKinds].sort());
  });

  await t.test('no token in the output of the simulation or of the server', () => {
    assert.doesNotMatch(run.stdout, jwtPattern);
    assert.doesNotMatch(run.stderr, jwtPattern);
    assert.doesNotMatch(server.stdout.join('\n'), jwtPattern);
    assert.doesNotMatch(server.stderr(), jwtPattern);
  });
});
