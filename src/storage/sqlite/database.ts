import type { Database } from '../ports.js';
import { SqliteUserStore } from './user-store.js';
import { SqliteCareTeamStore } from './care-team-store.js';
import { SqliteAlertStore } from './alert-store.js';
import { SqliteAuditStore } from './audit-store.js';
import { SqliteDataKeyStore } from './data-key-store.js';
import { SqliteIndexKeyStore } from './index-key-store.js';
import { defaultBusyTimeoutMs, openSqliteConnection, sqliteAuditFile, type SqliteConnection } from './connection.js';
import { runSqlite, toSqliteStorageError } from './errors.js';
import { sqliteOpenFailure } from '../open-failure.js';
import { SqliteKeyValueStore } from './kv-store.js';
import { SqliteMfaFactorStore } from './mfa-factor-store.js';
import { SqliteOAuthClientStore, SqliteOidcStateStore } from './oidc-store.js';
import { migrateSqlite } from './migrate.js';
import { sqliteAuditMigrations, sqliteMigrations } from './migrations.js';
import { SqliteReadCache } from './read-cache.js';
import { SqliteResourceStore } from './resource-store.js';
import { SqliteSealedBodyStore } from './sealed-body-store.js';

/**
 * The embedded default (DESIGN.md "Ports and adapters"): one SQLite file for
 * resources and key-value state, and the audit log in its own file beside it
 * (connection.ts says why), each with its own connection.
 * better-sqlite3 is synchronous; the port's methods are async so both
 * adapters are interchangeable, but the work runs to completion in the call.
 */
class SqliteDatabase implements Database {
  readonly kind = 'sqlite';
  readonly resources: SqliteResourceStore;
  readonly kv: SqliteKeyValueStore;
  readonly audit: SqliteAuditStore;
  readonly alerts: SqliteAlertStore;
  readonly dataKeys: SqliteDataKeyStore;
  readonly indexKeys: SqliteIndexKeyStore;
  readonly oidc: SqliteOidcStateStore;
  readonly clients: SqliteOAuthClientStore;
  readonly sealedBodies: SqliteSealedBodyStore;
  readonly users: SqliteUserStore;
  readonly mfaFactors: SqliteMfaFactorStore;
  readonly careTeam: SqliteCareTeamStore;
  readonly #db: SqliteConnection;
  readonly #auditDb: SqliteConnection;
  readonly #cache: SqliteReadCache;

  constructor(db: SqliteConnection, auditDb: SqliteConnection, auditFile: string, busyTimeoutMs: number) {
    this.#db = db;
    this.#auditDb = auditDb;
    // One read cache per connection: a write through either store invalidates both.
    const cache = new SqliteReadCache(db);
    this.#cache = cache;
    this.resources = new SqliteResourceStore(db, cache);
    this.kv = new SqliteKeyValueStore(db, cache);
    this.audit = new SqliteAuditStore(auditDb, auditFile, busyTimeoutMs);
    // Alerts live in the audit file, beside the events they point to.
    this.alerts = new SqliteAlertStore(auditDb);
    // Wrapped data keys live beside the resources they seal.
    this.dataKeys = new SqliteDataKeyStore(db);
    this.indexKeys = new SqliteIndexKeyStore(db);
    this.oidc = new SqliteOidcStateStore(db);
    this.clients = new SqliteOAuthClientStore(db);
    this.sealedBodies = new SqliteSealedBodyStore(db, cache);
    this.users = new SqliteUserStore(db);
    this.careTeam = new SqliteCareTeamStore(db);
    this.mfaFactors = new SqliteMfaFactorStore(db);
  }

  migrate(): Promise<number[]> {
    this.#cache.invalidate();
    return runSqlite('migrate', () => [
      ...migrateSqlite(this.#db, sqliteMigrations),
      ...migrateSqlite(this.#auditDb, sqliteAuditMigrations),
    ]);
  }

  ping(): Promise<void> {
    return runSqlite('ping', () => {
      this.#db.prepare('SELECT 1').get();
    });
  }

  async close(): Promise<void> {
    await this.audit.close();
    await runSqlite('close', () => {
      if (this.#db.open) this.#db.close();
      if (this.#auditDb.open) this.#auditDb.close();
    });
  }
}

/** Opens (creating if needed) a SQLite database file, or `:memory:`; does not migrate. */
export function openSqliteDatabase(
  file: string,
  options: { busyTimeoutMs?: number; bulkLoad?: boolean } = {},
): Promise<Database> {
  const busyTimeoutMs = options.busyTimeoutMs ?? defaultBusyTimeoutMs;
  const opened = runSqlite('open', () => {
    const auditFile = sqliteAuditFile(file);
    const db = openSqliteConnection(file, busyTimeoutMs, options.bulkLoad === true ? 'bulk-load' : 'durable');
    try {
      return new SqliteDatabase(db, openSqliteConnection(auditFile, busyTimeoutMs), auditFile, busyTimeoutMs);
    } catch (error) {
      db.close();
      throw error;
    }
  });
  // The one failure an operator fixes by hand: the file or its folder, named with the setting.
  return opened.catch((error: unknown) => Promise.reject(sqliteOpenFailure(file, toSqliteStorageError('open', error))));
}
