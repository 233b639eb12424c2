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
  {
    version: 6,
    name: 'data_keys',
    // Envelope encryption (docs/key-management.md): data keys, only ever
    // stored wrapped by a key-encryption key. The partial unique index allows
    // one current key at a time, so two processes creating the first key
    // at once cannot both succeed.
    sql: `
      CREATE TABLE data_keys (
        id TEXT PRIMARY KEY,
        kek_id TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('current', 'retired'))
      ) STRICT;
      CREATE UNIQUE INDEX data_keys_one_current ON data_keys (state) WHERE state = 'current';
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
  {
    version: 4,
    name: 'audit_query_indexes',
    // Indexes for the audit-events API (docs/audit.md "Querying"); the JSON
    // expressions are spelled exactly as sqlite/audit-query.ts spells them.
    // Partial on events: checkpoints are never searched. Filters without an
    // index of their own (client, role, interaction, status) walk the time index.
    sql: `
      CREATE INDEX audit_log_events_by_time ON audit_log (time, writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_subject ON audit_log (json_extract(payload, '$.actor.subject'), time, writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_source_ip ON audit_log (json_extract(payload, '$.actor.sourceIp'), time, writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_resource ON audit_log (json_extract(payload, '$.action.resourceId'), time, writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_request ON audit_log (json_extract(payload, '$.requestId')) WHERE kind = 'event';
    `,
  },
  {
    version: 5,
    name: 'alerts',
    sql: `
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        body TEXT NOT NULL
      ) STRICT;
      CREATE INDEX alerts_by_time ON alerts (time, id);
      CREATE INDEX alerts_by_kind ON alerts (kind, time, id);
      -- Append-only like the audit log: an alert is evidence.
      CREATE TRIGGER alerts_no_update BEFORE UPDATE ON alerts
      BEGIN SELECT RAISE(ABORT, 'alerts are append-only'); END;
      CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
      BEGIN SELECT RAISE(ABORT, 'alerts are append-only'); END;
    `,
  },
];
