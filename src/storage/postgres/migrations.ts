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
];
