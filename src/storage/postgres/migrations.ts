import type { Migration } from '../migration.js';

/**
 * PostgreSQL schema, in order; the same logical schema as SQLite. Never edit
 * an applied migration; add a new one. Keys use COLLATE "C" so ordering and
 * `id > after` paging compare bytes, exactly as SQLite's BINARY collation does.
 */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'resources',
    sql: `
      CREATE TABLE resources (
        type text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        deleted boolean NOT NULL,
        last_updated text NOT NULL,
        PRIMARY KEY (type, id)
      );
      CREATE TABLE resource_versions (
        type text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        last_updated text NOT NULL,
        deleted boolean NOT NULL,
        body bytea,
        PRIMARY KEY (type, id, version),
        FOREIGN KEY (type, id) REFERENCES resources (type, id)
      );
      -- Rows only for the current, non-deleted version; the primary key is
      -- the (type, param, token, id) index every search clause walks.
      CREATE TABLE search_index (
        type text COLLATE "C" NOT NULL,
        param text COLLATE "C" NOT NULL,
        token text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        PRIMARY KEY (type, param, token, id),
        FOREIGN KEY (type, id) REFERENCES resources (type, id)
      );
      CREATE INDEX search_index_by_resource ON search_index (type, id);
    `,
  },
  {
    version: 2,
    name: 'kv',
    sql: `
      CREATE TABLE kv (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX kv_expires_at ON kv (expires_at);
    `,
  },
  {
    version: 3,
    name: 'audit_log',
    sql: `
      CREATE TABLE audit_log (
        writer_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        time text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('event', 'checkpoint')),
        payload text NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        PRIMARY KEY (writer_id, seq)
      );
      -- Append-only (HIPAA 164.312(b), 164.312(c)(1)). A superuser can still
      -- disable these triggers; the per-writer hash chain and signed
      -- checkpoints are what make tampering evident.
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
      END
      $$;
      CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    `,
  },
  {
    version: 4,
    name: 'audit_query_indexes',
    // Indexes for the audit-events API (docs/audit.md "Querying"); the
    // expressions are spelled exactly as postgres/audit-query.ts spells them.
    // COLLATE "C" makes ISO 8601 text sort as instants whatever the database
    // collation. Partial on events: checkpoints are never searched.
    sql: `
      CREATE INDEX audit_log_events_by_time ON audit_log ((time COLLATE "C"), writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_subject ON audit_log (((payload::jsonb) #>> '{actor,subject}'), (time COLLATE "C"), writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_source_ip ON audit_log (((payload::jsonb) #>> '{actor,sourceIp}'), (time COLLATE "C"), writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_resource ON audit_log (((payload::jsonb) #>> '{action,resourceId}'), (time COLLATE "C"), writer_id, seq) WHERE kind = 'event';
      CREATE INDEX audit_log_events_by_request ON audit_log (((payload::jsonb) #>> '{requestId}')) WHERE kind = 'event';
    `,
  },
  {
    version: 5,
    name: 'alerts',
    sql: `
      CREATE TABLE alerts (
        id text COLLATE "C" PRIMARY KEY,
        time text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        severity text COLLATE "C" NOT NULL,
        body text NOT NULL
      );
      CREATE INDEX alerts_by_time ON alerts (time, id);
      CREATE INDEX alerts_by_kind ON alerts (kind, time, id);
      -- Append-only like the audit log: an alert is evidence.
      CREATE FUNCTION alerts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'alerts are append-only' USING ERRCODE = 'insufficient_privilege';
      END
      $$;
      CREATE TRIGGER alerts_no_change BEFORE UPDATE OR DELETE ON alerts
        FOR EACH ROW EXECUTE FUNCTION alerts_append_only();
      CREATE TRIGGER alerts_no_truncate BEFORE TRUNCATE ON alerts
        FOR EACH STATEMENT EXECUTE FUNCTION alerts_append_only();
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
        id text COLLATE "C" PRIMARY KEY,
        kek_id text COLLATE "C" NOT NULL,
        wrapped bytea NOT NULL,
        created_at text NOT NULL,
        state text COLLATE "C" NOT NULL CHECK (state IN ('current', 'retired'))
      );
      CREATE UNIQUE INDEX data_keys_one_current ON data_keys (state) WHERE state = 'current';
    `,
  },
  {
    version: 7,
    name: 'users',
    // The user directory (docs/users.md); the same rules as SQLite's version 7:
    // normalised usernames are unique, admin identities apart from clinical ones.
    sql: `
      CREATE TABLE users (
        id text COLLATE "C" PRIMARY KEY,
        username text COLLATE "C" NOT NULL UNIQUE,
        role text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL CHECK (kind IN ('admin', 'clinical')),
        status text COLLATE "C" NOT NULL CHECK (status IN ('active', 'disabled')),
        password_hash text NOT NULL,
        patient_id text COLLATE "C",
        created_at text NOT NULL,
        updated_at text NOT NULL,
        CHECK ((kind = 'admin') = (role = 'admin'))
      );
    `,
  },
  {
    version: 8,
    name: 'care_team_assignments',
    // Care-team assignments (docs/access-control.md); the same rules as
    // SQLite's version 8. COLLATE "C": ids compare bytewise, as the keyset
    // pagination of the admin API expects on both databases.
    sql: `
      CREATE TABLE care_team_assignments (
        id text COLLATE "C" PRIMARY KEY,
        subject text COLLATE "C" NOT NULL,
        patient text COLLATE "C" NOT NULL,
        assigned_by text NOT NULL,
        assigned_at text NOT NULL,
        UNIQUE (subject, patient)
      );
      CREATE INDEX care_team_assignments_by_patient ON care_team_assignments (patient, subject);
    `,
  },
  {
    version: 9,
    name: 'oidc_state',
    // Authorization-server state (docs/oauth.md "Storage"); the same rules as SQLite's version 9.
    sql: `
      CREATE TABLE oidc_state (
        model text COLLATE "C" NOT NULL,
        id_hash text COLLATE "C" NOT NULL,
        payload text NOT NULL,
        grant_id text COLLATE "C",
        account_id text COLLATE "C",
        client_id text COLLATE "C",
        uid_hash text COLLATE "C",
        consumed_at bigint,
        expires_at bigint NOT NULL,
        PRIMARY KEY (model, id_hash)
      );
      CREATE INDEX oidc_state_by_grant ON oidc_state (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_state_by_account ON oidc_state (account_id) WHERE account_id IS NOT NULL;
      CREATE INDEX oidc_state_by_client ON oidc_state (client_id) WHERE client_id IS NOT NULL;
      CREATE INDEX oidc_state_by_uid ON oidc_state (model, uid_hash) WHERE uid_hash IS NOT NULL;
      CREATE INDEX oidc_state_by_expiry ON oidc_state (expires_at);
      CREATE TABLE oauth_clients (
        client_id text COLLATE "C" PRIMARY KEY,
        metadata text NOT NULL,
        secret_hash text COLLATE "C",
        status text COLLATE "C" NOT NULL CHECK (status IN ('active', 'disabled')),
        created_at text NOT NULL,
        updated_at text NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'mfa_factors',
    // Second factors (docs/login-and-mfa.md); the same rules as SQLite's version 10.
    sql: `
      CREATE TABLE mfa_factors (
        id text COLLATE "C" PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL CHECK (kind IN ('totp', 'webauthn')),
        credential_id text COLLATE "C" UNIQUE,
        sealed bytea NOT NULL,
        sign_count bigint NOT NULL CHECK (sign_count >= 0),
        created_at text NOT NULL,
        last_used_at text
      );
      CREATE INDEX mfa_factors_by_user ON mfa_factors (user_id, created_at);
      CREATE TABLE mfa_recovery_codes (
        user_id text COLLATE "C" NOT NULL,
        code_hash text COLLATE "C" NOT NULL,
        created_at text NOT NULL,
        PRIMARY KEY (user_id, code_hash)
      );
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
        id text COLLATE "C" PRIMARY KEY,
        kek_id text COLLATE "C" NOT NULL,
        wrapped bytea NOT NULL,
        created_at text NOT NULL,
        state text COLLATE "C" NOT NULL CHECK (state IN ('written', 'searched', 'retired'))
      );
      CREATE UNIQUE INDEX index_keys_one_written ON index_keys (state) WHERE state = 'written';
      CREATE UNIQUE INDEX index_keys_one_searched ON index_keys (state) WHERE state = 'searched';
      CREATE TABLE index_key_progress (
        key_id text COLLATE "C" PRIMARY KEY REFERENCES index_keys (id),
        type text COLLATE "C" NOT NULL,
        after_id text COLLATE "C" NOT NULL,
        done bigint NOT NULL CHECK (done >= 0)
      );
    `,
  },
];
