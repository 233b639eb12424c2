import type { Migration } from '../migration.js';
import type { SqliteConnection } from './connection.js';

const createMigrationsTable = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`;

/**
 * Applies pending migrations in order, one BEGIN IMMEDIATE transaction each,
 * so a second process starting at the same moment waits for the write lock,
 * then sees the version recorded and skips it. Returns the versions applied.
 */
export function migrateSqlite(db: SqliteConnection, migrations: readonly Migration[]): number[] {
  const applied: number[] = [];
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of ordered) {
    const applyOne = db.transaction(() => {
      db.exec(createMigrationsTable);
      const done = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version);
      if (done !== undefined) return false;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
      return true;
    });
    if (applyOne.immediate()) applied.push(migration.version);
  }
  return applied;
}
