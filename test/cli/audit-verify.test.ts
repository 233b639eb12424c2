/**
 * `caduceus audit verify` and `caduceus migrate` as child processes, on a
 * data folder a real server wrote; tampering goes through a raw
 * better-sqlite3 connection, as an operator with file access could
 * (docs/audit.md: the chain is what makes tampering evident).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { canonicalJson } from '../../src/audit/canonical.js';
import { sqliteAuditFile } from '../../src/storage/sqlite/connection.js';
import { sqliteAuditMigrations, sqliteMigrations } from '../../src/storage/sqlite/migrations.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  runCliProcess,
  signToken,
  startInProcess,
  type ProcessScope,
} from '../helpers/process.js';

interface VerifyJson {
  readonly ok: boolean;
  readonly writers: readonly { writerId: string; status: string }[];
  readonly firstBad?: { readonly writerId: string; readonly seq: number; readonly reason: string };
}

interface RawEventRow {
  readonly writer_id: string;
  readonly seq: number;
  readonly payload: string;
}

/** A server on `env` takes some API traffic (201, 200, 401, 403) and stops cleanly. */
async function serveTraffic(scope: ProcessScope, env: Record<string, string>): Promise<{ auditFile: string }> {
  const server = await startInProcess(scope, env);
  const clinician = await signToken(server.config, 'clinician');
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    body: '{"resourceType":"Patient","gender":"female"}',
    headers: { authorization: `Bearer ${clinician}`, 'content-type': 'application/fhir+json' },
  });
  assert.equal(created.status, 201);
  const location = new URL(String(created.headers.location), server.url).href;
  assert.equal(
    (await httpsRequest(location, server.ca, { headers: { authorization: `Bearer ${clinician}` } })).status,
    200,
  );
  assert.equal((await httpsRequest(location, server.ca)).status, 401);
  const device = await signToken(server.config, 'device');
  assert.equal(
    (await httpsRequest(location, server.ca, { headers: { authorization: `Bearer ${device}` } })).status,
    403,
  );
  await server.stop();
  return { auditFile: sqliteAuditFile(server.config.databaseUrl) };
}

/** Opens the file directly and drops the append-only triggers by the names sqlite_master gives. */
function openWithoutTriggers(file: string): BetterSqlite3.Database {
  const raw = new BetterSqlite3(file);
  const triggers = raw
    .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
    .pluck()
    .all() as string[];
  assert.ok(triggers.length >= 2, `append-only triggers: ${triggers.join(', ')}`);
  for (const name of triggers) raw.exec(`DROP TRIGGER "${name.replaceAll('"', '""')}"`);
  return raw;
}

test('audit verify: exit 0 after traffic and a clean stop; exit 1 naming the writer and seq after one payload is edited', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const { auditFile } = await serveTraffic(scope, env);

  const clean = await runCliProcess(scope, env, ['audit', 'verify']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /^audit log ok: 1 writer\(s\) verified\n$/);
  const cleanJson = await runCliProcess(scope, env, ['audit', 'verify', '--json']);
  assert.equal(cleanJson.code, 0);
  const cleanReport = JSON.parse(cleanJson.stdout) as VerifyJson;
  assert.equal(cleanReport.ok, true);
  assert.deepEqual(
    cleanReport.writers.map((writer) => writer.status),
    ['closed'],
  );

  // The triggers hold against an ordinary UPDATE; a forger drops them first.
  const guarded = new BetterSqlite3(auditFile);
  try {
    assert.throws(
      () => guarded.prepare("UPDATE audit_log SET payload = payload WHERE kind = 'event'").run(),
      /append-only/,
    );
  } finally {
    guarded.close();
  }
  const raw = openWithoutTriggers(auditFile);
  let target: RawEventRow;
  try {
    // Forge the 401 into a 200: hide a refused access, keeping the payload canonical JSON.
    const rows = raw
      .prepare("SELECT writer_id, seq, payload FROM audit_log WHERE kind = 'event' ORDER BY seq")
      .all() as RawEventRow[];
    const refused = rows.find(
      (row) => (JSON.parse(row.payload) as { outcome: { status: number } }).outcome.status === 401,
    );
    assert.ok(refused !== undefined, 'no audit event for the 401');
    target = refused;
    const event = JSON.parse(target.payload) as { outcome: { status: number; code: string | null } };
    event.outcome = { status: 200, code: null };
    const changed = raw
      .prepare('UPDATE audit_log SET payload = ? WHERE writer_id = ? AND seq = ?')
      .run(canonicalJson(event), target.writer_id, target.seq);
    assert.equal(changed.changes, 1);
  } finally {
    raw.close();
  }

  const tampered = await runCliProcess(scope, env, ['audit', 'verify']);
  assert.equal(tampered.code, 1, tampered.stdout + tampered.stderr);
  assert.ok(tampered.stdout.includes(`${target.writer_id} #${target.seq}`), tampered.stdout);
  assert.match(tampered.stdout, /NOT ok/);
  const tamperedJson = await runCliProcess(scope, env, ['audit', 'verify', '--json']);
  assert.equal(tamperedJson.code, 1);
  const report = JSON.parse(tamperedJson.stdout) as VerifyJson;
  assert.equal(report.ok, false);
  assert.equal(report.firstBad?.writerId, target.writer_id);
  assert.equal(report.firstBad.seq, target.seq);
  assert.ok(report.firstBad.reason.length > 0);
});

test('audit verify --json reports every writer: the server and each CLI run', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  await serveTraffic(scope, env);
  assert.equal((await runCliProcess(scope, env, ['token', 'issue', '--role', 'billing'])).code, 0);
  const run = await runCliProcess(scope, env, ['audit', 'verify', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as VerifyJson;
  assert.equal(report.ok, true);
  assert.equal(report.writers.length, 2);
  assert.equal(new Set(report.writers.map((writer) => writer.writerId)).size, 2);
});

test('migrate --json on a fresh data folder prints the versions applied, then [] on a second run', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(path.join(scope.dir, 'fresh', 'data'));
  const first = await runCliProcess(scope, env, ['migrate', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const versions = [...sqliteMigrations, ...sqliteAuditMigrations].map((migration) => migration.version);
  assert.ok(versions.length > 0);
  assert.deepEqual(JSON.parse(first.stdout), { applied: versions });
  const second = await runCliProcess(scope, env, ['migrate', '--json']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(JSON.parse(second.stdout), { applied: [] });
  const text = await runCliProcess(scope, env, ['migrate']);
  assert.equal(text.code, 0);
  assert.equal(text.stdout, 'database is up to date\n');
});
