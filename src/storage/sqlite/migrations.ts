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
  {
    version: 7,
    name: 'users',
    // The user directory (docs/users.md). Usernames are stored normalised, so
    // UNIQUE is the uniqueness rule. The CHECK keeps admin identities apart
    // from clinical ones (docs/users.md): only an admin-kind account holds
    // the admin role, and an admin-kind account holds nothing else.
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('admin', 'clinical')),
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        password_hash TEXT NOT NULL,
        patient_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((kind = 'admin') = (role = 'admin'))
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: 'care_team_assignments',
    // Care-team assignments (docs/access-control.md): which patients a
    // clinician, nurse or device (by token `sub`) reaches. UNIQUE (subject,
    // patient) makes assigning twice one row; the request path probes it by
    // that key, and by subject alone to restrict searches.
    sql: `
      CREATE TABLE care_team_assignments (
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        patient TEXT NOT NULL,
        assigned_by TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        UNIQUE (subject, patient)
      ) STRICT;
      CREATE INDEX care_team_assignments_by_patient ON care_team_assignments (patient, subject);
    `,
  },
  {
    version: 9,
    name: 'oidc_state',
    // Authorization-server state (docs/oauth.md "Storage"): every record keyed by
    // the SHA-256 of its id, so codes and refresh tokens are never stored as
    // values; consumed_at is set once by a compare-and-set. Client secrets are
    // stored only as SHA-256 hashes (they are 256-bit random values).
    sql: `
      CREATE TABLE oidc_state (
        model TEXT NOT NULL,
        id_hash TEXT NOT NULL,
        payload TEXT NOT NULL,
        grant_id TEXT,
        account_id TEXT,
        client_id TEXT,
        uid_hash TEXT,
        consumed_at INTEGER,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (model, id_hash)
      ) STRICT;
      CREATE INDEX oidc_state_by_grant ON oidc_state (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_state_by_account ON oidc_state (account_id) WHERE account_id IS NOT NULL;
      CREATE INDEX oidc_state_by_client ON oidc_state (client_id) WHERE client_id IS NOT NULL;
      CREATE INDEX oidc_state_by_uid ON oidc_state (model, uid_hash) WHERE uid_hash IS NOT NULL;
      CREATE INDEX oidc_state_by_expiry ON oidc_state (expires_at);
      CREATE TABLE oauth_clients (
        client_id TEXT PRIMARY KEY,
        metadata TEXT NOT NULL,
        secret_hash TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 10,
    name: 'mfa_factors',
    // Second factors (docs/login-and-mfa.md): TOTP seeds and WebAuthn
    // credentials only ever sealed (the AAD binds user and factor id), and
    // recovery codes only as SHA-256 hashes. The credential id is public and
    // unique: a passkey login finds its factor by it.
    sql: `
      CREATE TABLE mfa_factors (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('totp', 'webauthn')),
        credential_id TEXT UNIQUE,
        sealed BLOB NOT NULL,
        sign_count INTEGER NOT NULL CHECK (sign_count >= 0),
        created_at TEXT NOT NULL,
        last_used_at TEXT
      ) STRICT;
      CREATE INDEX mfa_factors_by_user ON mfa_factors (user_id, created_at);
      CREATE TABLE mfa_recovery_codes (
        user_id TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (user_id, code_hash)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 11,
    name: 'index_keys',
    // Blind-index keys (docs/blind-indexes.md), only ever stored wrapped by a
    // key-encryption key. Partial unique indexes: one key makes new index rows
    // and at most one more is being rolled in or out, so two processes
    // creating a key at once cannot both succeed. Rotation progress is kept
    // so a crashed rotation resumes where it stopped.
    sql: `
      CREATE TABLE index_keys (
        id TEXT PRIMARY KEY,
        kek_id TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('written', 'searched', 'retired'))
      ) STRICT;
      CREATE UNIQUE INDEX index_keys_one_written ON index_keys (state) WHERE state = 'written';
      CREATE UNIQUE INDEX index_keys_one_searched ON index_keys (state) WHERE state = 'searched';
      CREATE TABLE index_key_progress (
        key_id TEXT PRIMARY KEY REFERENCES index_keys (id),
        type TEXT NOT NULL,
        after_id TEXT NOT NULL,
        done INTEGER NOT NULL CHECK (done >= 0)
      ) STRICT;
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
