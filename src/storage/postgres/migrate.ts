import type { Pool } from 'pg';
import type { Migration } from '../migration.js';
import { withTransaction } from './pool.js';

/** First key of the advisory lock; the second is the schema, so isolated schemas migrate independently. */
const migrationLockKey = 0x43414455; // "CADU"

const createMigrationsTable = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

/**
 * Applies pending migrations in order, one transaction each. Each transaction
 * first takes a transaction-scoped advisory lock, so two processes starting at
 * once serialize: the second waits, then sees the version recorded and skips
 * it. Returns the versions this call applied.
 */
export async function migratePostgres(pool: Pool, migrations: readonly Migration[]): Promise<number[]> {
  const applied: number[] = [];
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of ordered) {
    const didApply = await withTransaction(pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))", [
        migrationLockKey,
      ]);
      await client.query(createMigrationsTable);
      const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (done.rowCount !== 0) return false;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (didApply) applied.push(migration.version);
  }
  return applied;
}
