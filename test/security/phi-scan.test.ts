/**
 * No plaintext PHI at rest or in logs (docs/blind-indexes.md):
 * patients with unique marker values go in over HTTPS, then the raw SQLite
 * files (main, -wal, -shm and the audit file beside them) or a pg_dump of the
 * test schema, and every server log line, are scanned for every form of every
 * marker. With CADUCEUS_ENCRYPTION=off the same scan must find them: it can fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { openSqliteConnection } from '../../src/storage/sqlite/connection.js';
import {
  dropPostgresSchema,
  postgresSkip,
  testPostgresBaseUrl,
  uniqueSchemaName,
  withSchema,
} from '../helpers/database.js';
import { findMarkers, runScenario, stopServer, type Marker, type ScenarioRun } from './phi-scan-scenario.js';

const run = promisify(execFile);
const pgSkip = await postgresSkip();

/** Every file of the data folder's database: caduceus.db, its -wal and -shm, and the audit file with its own. */
async function databaseFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => /^caduceus(-audit)?\.db(-wal|-shm)?$/.test(name)).map((name) => path.join(dir, name));
}

async function scanSqlite(dir: string, markers: readonly Marker[]): Promise<{ files: string[]; found: string[] }> {
  const files = await databaseFiles(dir);
  const found: string[] = [];
  for (const file of files)
    for (const hit of findMarkers(await readFile(file), markers)) found.push(`${path.basename(file)} ${hit}`);
  return { files: files.map((file) => path.basename(file)), found };
}

/** pg_dump of one schema only (plain SQL; bytea as hex), as an operator's backup would hold it. */
async function dumpSchema(schema: string): Promise<Buffer> {
  const url = new URL(testPostgresBaseUrl());
  const { stdout } = await run(
    '/usr/bin/pg_dump',
    [
      '--host',
      url.hostname,
      '--port',
      url.port || '5432',
      '--username',
      decodeURIComponent(url.username || 'postgres'),
      '--no-password',
      '--schema',
      schema,
      url.pathname.slice(1),
    ],
    { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout;
}

function logsOf(scenario: ScenarioRun): Buffer {
  assert.ok(scenario.server.stdout.length > 10, 'the server logged (trace level): the log scan has lines to read');
  return Buffer.from(`${scenario.server.stdout.join('\n')}\n${scenario.server.stderr()}`, 'utf8');
}

/** With encryption off, every kind of marker (names, identifier, birth date, address, telecom) must be found. */
function assertEveryKindFound(found: readonly string[]): void {
  for (const kind of ['family', 'given', 'identifier', 'birthDate', 'address', 'city', 'email', 'phone']) {
    assert.ok(
      found.some((hit) => hit.includes(` ${kind}#`) || hit.startsWith(`${kind}#`)),
      `the scan should find ${kind} with encryption off; found: ${found.join(', ')}`,
    );
  }
}

test('SQLite connections keep temporary tables and sorts in memory (temp_store=MEMORY): no spill file outside the data folder', () => {
  const db = openSqliteConnection(':memory:');
  try {
    assert.equal(db.pragma('temp_store', { simple: true }), 2);
  } finally {
    db.close();
  }
});

test('SQLite, encryption on: no marker in any form in the database, WAL, shared-memory or audit files, nor in the logs', async (t) => {
  const scenario = await runScenario(t, {});
  const live = await scanSqlite(scenario.scope.dir, scenario.markers);
  assert.ok(
    live.files.includes('caduceus.db-wal') && live.files.includes('caduceus-audit.db'),
    `scanned ${live.files.join(', ')}`,
  );
  assert.deepEqual(live.found, [], 'while running');
  await stopServer(scenario);
  assert.deepEqual(
    (await scanSqlite(scenario.scope.dir, scenario.markers)).found,
    [],
    'after a clean stop (WAL checkpointed)',
  );
  assert.deepEqual(findMarkers(logsOf(scenario), scenario.markers), [], 'server log lines at trace level');
});

test('SQLite, encryption off: the same scan finds every kind of marker (the scan can fail)', async (t) => {
  const scenario = await runScenario(t, { CADUCEUS_ENCRYPTION: 'off' });
  await stopServer(scenario);
  const { found } = await scanSqlite(scenario.scope.dir, scenario.markers);
  assertEveryKindFound(found);
  assert.ok(
    found.some((hit) => /family#\d: ñúñez[a-z]{12}$|family#\d: nunez[a-z]{12}$/.test(hit)),
    'the normalized index tokens are found',
  );
  // Logs stay clean either way: encryption is about storage.
  assert.deepEqual(findMarkers(logsOf(scenario), scenario.markers), []);
});

async function postgresScenario(
  t: TestContext,
  encryption: 'on' | 'off',
): Promise<{ scenario: ScenarioRun; dump: Buffer }> {
  const schema = uniqueSchemaName();
  t.after(() => dropPostgresSchema(schema));
  const scenario = await runScenario(t, {
    CADUCEUS_DATABASE_URL: withSchema(testPostgresBaseUrl(), schema),
    CADUCEUS_ENCRYPTION: encryption,
  });
  const dump = await dumpSchema(schema);
  assert.ok(dump.includes(Buffer.from(`CREATE TABLE ${schema}.search_index`)), 'the dump holds the schema');
  await stopServer(scenario);
  return { scenario, dump };
}

test(
  'PostgreSQL, encryption on: no marker in any form in a pg_dump of the schema, nor in the logs',
  { skip: pgSkip },
  async (t) => {
    const { scenario, dump } = await postgresScenario(t, 'on');
    assert.deepEqual(findMarkers(dump, scenario.markers), []);
    assert.deepEqual(findMarkers(logsOf(scenario), scenario.markers), []);
  },
);

test(
  'PostgreSQL, encryption off: the same pg_dump scan finds every kind of marker (the scan can fail)',
  { skip: pgSkip },
  async (t) => {
    const { scenario, dump } = await postgresScenario(t, 'off');
    assertEveryKindFound(findMarkers(dump, scenario.markers));
  },
);
