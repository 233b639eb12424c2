import type { Database } from './ports.js';
import { openPostgresDatabase } from './postgres/database.js';
import { describePostgresUrl } from './postgres/url.js';
import { openSqliteDatabase } from './sqlite/database.js';

function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

/**
 * Opens the adapter the URL names: postgres:// or postgresql:// → PostgreSQL,
 * anything else → a SQLite file path (`:memory:` for tests). Does not
 * migrate; callers call `db.migrate()`.
 */
export async function openDatabase(url: string, options: { busyTimeoutMs?: number } = {}): Promise<Database> {
  if (isPostgresUrl(url)) return openPostgresDatabase(url);
  return openSqliteDatabase(url, options);
}

/** A description safe for logs: "sqlite", or "postgres://host:port/db" without credentials. */
export function describeDatabase(url: string): string {
  return isPostgresUrl(url) ? describePostgresUrl(url) : 'sqlite';
}
