import type { PostgresTlsConfig } from '../config/client-tls.js';
import type { Breakers } from '../lib/circuit-breaker.js';
import type { Database } from './ports.js';
import { openPostgresDatabase } from './postgres/database.js';
import { isPgCallerError } from './postgres/pool.js';
import { describePostgresUrl } from './postgres/url.js';
import { openSqliteDatabase } from './sqlite/database.js';

function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** SQLite: how long a write waits for the file lock. */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite: commit resources without a write-ahead log or syncs, for loads
   * redone from scratch after a crash (bench/search.ts seeds this way).
   * Never for a server: a crash can lose or corrupt the file.
   */
  readonly bulkLoad?: boolean;
  /**
   * PostgreSQL: put every query behind a `postgres` circuit breaker created on
   * these breakers (docs/circuit-breakers.md). SQLite is synchronous and
   * bounded by its busy timeout instead, so it has none.
   */
  readonly circuit?: { readonly breakers: Breakers; readonly timeoutMs: number; readonly resetMs: number };
  /** PostgreSQL: verified TLS (config.databaseTls, docs/database-tls.md); absent or null: none. */
  readonly postgresTls?: PostgresTlsConfig | null;
}

/**
 * Opens the adapter the URL names: postgres:// or postgresql:// → PostgreSQL,
 * anything else → a SQLite file path (`:memory:` for tests). Does not
 * migrate; callers call `db.migrate()`.
 */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  if (isPostgresUrl(url)) {
    const { circuit } = options;
    const tls = options.postgresTls ?? null;
    if (circuit === undefined) return openPostgresDatabase(url, undefined, tls);
    const breaker = circuit.breakers.create({
      name: 'postgres',
      timeoutMs: circuit.timeoutMs,
      resetMs: circuit.resetMs,
      isCallerError: isPgCallerError,
    });
    return openPostgresDatabase(url, (call) => breaker.run(call), tls);
  }
  return openSqliteDatabase(url, options);
}

/** A description safe for logs: "sqlite", or "postgres://host:port/db" without credentials. */
export function describeDatabase(url: string): string {
  return isPostgresUrl(url) ? describePostgresUrl(url) : 'sqlite';
}
