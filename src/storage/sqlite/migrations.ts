import type { Migration } from '../migration.js';

/**
 * SQLite schema, in order. Never edit an applied migration; add a new one.
 * STRICT tables make SQLite enforce the column types the PostgreSQL schema has.
 */
export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'resources',
    sql: `
      CREATE TABLE resources (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
        last_updated TEXT NOT NULL,
        PRIMARY KEY (type, id)
      ) STRICT;
      CREATE TABLE resource_versions (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        last_updated TEXT NOT NULL,
        deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
        body BLOB,
        PRIMARY KEY (type, id, version),
        FOREIGN KEY (type, id) REFERENCES resources (type, id)
      ) STRICT;
      -- Rows only for the current, non-deleted version; the primary key is
      -- the (type, param, token, id) index every search clause walks.
      CREATE TABLE search_index (
        type TEXT NOT NULL,
        param TEXT NOT NULL,
        token TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (type, param, token, id),
        FOREIGN KEY (type, id) REFERENCES resources (type, id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX search_index_by_resource ON search_index (type, id);
    `,
  },
  {
    version: 2,
    name: 'kv',
    sql: `
      CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX kv_expires_at ON kv (expires_at);
    `,
  },
];

/** The audit file's schema (connection.ts: why the audit log has its own file). Versions continue the list above. */
export const sqliteAuditMigrations: readonly Migration[] = [
  {
    version: 3,
    name: 'audit_log',
    sql: `
      CREATE TABLE audit_log (
        writer_id TEXT NOT NULL,
        seq INTEGER NOT NULL CHECK (seq > 0),
        time TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('event', 'checkpoint')),
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (writer_id, seq)
      ) STRICT;
      -- Append-only (HIPAA 164.312(b), 164.312(c)(1)). An operator with file
      -- access can still drop these triggers or edit the file; the per-writer
      -- hash chain and signed checkpoints are what make tampering evident.
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
];
