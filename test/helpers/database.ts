import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type OpenDatabaseOptions } from '../../src/storage/open.js';
import type { Database } from '../../src/storage/ports.js';

/** The PostgreSQL server tests use: CADUCEUS_TEST_DATABASE_URL, or the local trust-auth default. */
export function testPostgresBaseUrl(): string {
  return process.env.CADUCEUS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** A fresh, valid schema name for one test run. */
export function uniqueSchemaName(): string {
  return `caduceus_test_${randomBytes(6).toString('hex')}`;
}

/** The base URL with `schema=NAME` added (replacing any there). */
export function withSchema(baseUrl: string, schema: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Runs one statement on a short-lived raw pg client whose search_path is the schema (for tampering tests). */
export async function rawPostgresExec(schema: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testPostgresBaseUrl(), options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drops the schema and everything in it. */
export async function dropPostgresSchema(schema: string): Promise<void> {
  if (!/^caduceus_test_[a-z0-9_]+$/.test(schema)) throw new Error('refusing to drop a non-test schema');
  const client = new pg.Client({ connectionString: testPostgresBaseUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * The `skip` option of a PostgreSQL test: false when the database answers, or
 * under CI=true (the test then runs and fails on connecting, as the README
 * promises); elsewhere a reason that the runner prints as the notice.
 */
export async function postgresSkip(): Promise<string | false> {
  if (process.env.CI === 'true' || (await postgresAvailable())) return false;
  return 'PostgreSQL is unreachable at CADUCEUS_TEST_DATABASE_URL; skipped outside CI (CI=true makes this a failure)';
}

/** True when the test PostgreSQL answers `SELECT 1` within two seconds. */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: testPostgresBaseUrl(), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A migrated database for one test file, on a temp SQLite file or a unique PostgreSQL schema. */
export interface TestDatabase {
  readonly db: Database;
  /** The URL it was opened with; open it again for a second "process". */
  readonly url: string;
  /** Closes the database and removes the temp folder or drops the schema. */
  cleanup(): Promise<void>;
}

/** Opens and migrates; on failure closes what was opened and runs `undo`. */
async function openMigrated(
  url: string,
  undo: () => Promise<void>,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  let db: Database | undefined;
  try {
    db = await openDatabase(url, options);
    await db.migrate();
    return db;
  } catch (error) {
    await db?.close().catch(() => undefined);
    await undo().catch(() => undefined);
    throw error;
  }
}

async function openTestSqlite(): Promise<TestDatabase> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-db-'));
  const url = path.join(dir, 'caduceus.db');
  const remove = () => rm(dir, { recursive: true, force: true });
  const db = await openMigrated(url, remove);
  return {
    db,
    url,
    async cleanup() {
      await db.close();
      await remove();
    },
  };
}

async function openTestPostgres(options: OpenDatabaseOptions): Promise<TestDatabase> {
  const schema = uniqueSchemaName();
  const url = withSchema(testPostgresBaseUrl(), schema);
  const drop = () => dropPostgresSchema(schema);
  const db = await openMigrated(url, drop, options);
  return {
    db,
    url,
    async cleanup() {
      await db.close();
      await drop();
    },
  };
}

/** Opens and migrates an isolated test database of the given kind; `options.circuit` puts PostgreSQL behind a breaker. */
export async function openTestDatabase(
  kind: 'sqlite' | 'postgres',
  options: OpenDatabaseOptions = {},
): Promise<TestDatabase> {
  return kind === 'sqlite' ? openTestSqlite() : openTestPostgres(options);
}
