import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { isPgUniqueViolation } from './errors.js';
import { parsePostgresUrl } from './url.js';

/** SQLSTATE 42P06: duplicate_schema (two processes creating it at once). */
const duplicateSchema = '42P06';

async function ensureSchema(pool: Pool, schema: string): Promise<void> {
  try {
    // The name matched /^[a-z_][a-z0-9_]{0,62}$/, so quoting it is enough.
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (!isPgUniqueViolation(error) && code !== duplicateSchema) throw error;
  }
}

/**
 * A pg Pool for the URL. With `?schema=NAME`, the schema is created if
 * missing and every pooled connection starts with search_path=NAME, so
 * unqualified table names resolve there (tests get one schema per run).
 */
export async function createPostgresPool(url: string): Promise<Pool> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: 10_000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its server emits 'error' on the pool; pg
  // discards that client and the next query reports the failure. Without a
  // listener the event would crash the process.
  pool.on('error', () => undefined);
  if (schema !== undefined) {
    try {
      await ensureSchema(pool, schema);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }
  return pool;
}

/** Runs work in one transaction on one pooled client: COMMIT on success, ROLLBACK on any throw. */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // A connection that cannot roll back must not go back to the pool.
      broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed');
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
