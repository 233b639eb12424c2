import type { Statement } from 'better-sqlite3';
import type {
  OAuthClientStore,
  OidcStateRecord,
  OidcStateStore,
  OidcStateWrite,
  RevokedGrants,
  StoredClient,
} from '../oidc-ports.js';
import { clientColumns, toClient, type ClientRow } from '../oidc-rows.js';
import type { SqliteConnection } from './connection.js';
import { isSqliteUniqueViolation, runSqlite } from './errors.js';

type WriteParams = [string, string, string, string | null, string | null, string | null, string | null, number];

interface StateStatements {
  readonly upsert: Statement<WriteParams>;
  readonly insertIfAbsent: Statement<[...WriteParams, number]>;
  readonly find: Statement<[string, string, number], { payload: string; consumed_at: number | null }>;
  readonly findByUid: Statement<[string, string, number], { payload: string; consumed_at: number | null }>;
  readonly consume: Statement<[number, string, string, number]>;
  readonly destroy: Statement<[string, string]>;
  readonly revokeByGrant: Statement<[string]>;
  readonly revokeByAccount: Statement<[string], { grant_id: string | null }>;
  readonly revokeByClient: Statement<[string], { grant_id: string | null }>;
  readonly purge: Statement<[number]>;
}

const insert = `INSERT INTO oidc_state (model, id_hash, payload, grant_id, account_id, client_id, uid_hash, expires_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
// consumed_at is left as it was: a re-save never un-consumes a code or refresh token.
const update = `UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
  client_id = excluded.client_id, uid_hash = excluded.uid_hash, expires_at = excluded.expires_at`;

function prepare(db: SqliteConnection): StateStatements {
  return {
    upsert: db.prepare(`${insert} ON CONFLICT (model, id_hash) DO ${update}`),
    // One statement: the "absent or expired" check and the write are atomic; an expired row is replaced whole.
    insertIfAbsent: db.prepare(
      `${insert} ON CONFLICT (model, id_hash) DO ${update}, consumed_at = NULL WHERE oidc_state.expires_at <= ?`,
    ),
    find: db.prepare('SELECT payload, consumed_at FROM oidc_state WHERE model = ? AND id_hash = ? AND expires_at > ?'),
    findByUid: db.prepare(
      'SELECT payload, consumed_at FROM oidc_state WHERE model = ? AND uid_hash = ? AND expires_at > ?',
    ),
    // Compare-and-set: only the caller that finds consumed_at still NULL changes the row.
    consume: db.prepare(
      'UPDATE oidc_state SET consumed_at = ? WHERE model = ? AND id_hash = ? AND consumed_at IS NULL AND expires_at > ?',
    ),
    destroy: db.prepare('DELETE FROM oidc_state WHERE model = ? AND id_hash = ?'),
    revokeByGrant: db.prepare('DELETE FROM oidc_state WHERE grant_id = ?'),
    revokeByAccount: db.prepare('DELETE FROM oidc_state WHERE account_id = ? RETURNING grant_id'),
    revokeByClient: db.prepare('DELETE FROM oidc_state WHERE client_id = ? RETURNING grant_id'),
    purge: db.prepare('DELETE FROM oidc_state WHERE expires_at <= ?'),
  };
}

function params(write: OidcStateWrite): WriteParams {
  return [
    write.model,
    write.key,
    write.payload,
    write.grantId,
    write.accountId,
    write.clientId,
    write.uidKey,
    Math.trunc(write.expiresAt),
  ];
}

function toRecord(row: { payload: string; consumed_at: number | null } | undefined): OidcStateRecord | undefined {
  return row === undefined ? undefined : { payload: row.payload, consumedAt: row.consumed_at };
}

/** The SQLite adapter of the provider-state port. */
export class SqliteOidcStateStore implements OidcStateStore {
  readonly #db: SqliteConnection;
  #statements: StateStatements | undefined;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  get #stmts(): StateStatements {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  upsert(write: OidcStateWrite): Promise<void> {
    return runSqlite('oidc.upsert', () => {
      this.#stmts.upsert.run(...params(write));
    });
  }

  insertIfAbsent(write: OidcStateWrite): Promise<boolean> {
    return runSqlite(
      'oidc.insertIfAbsent',
      () => this.#stmts.insertIfAbsent.run(...params(write), Date.now()).changes === 1,
    );
  }

  find(model: string, key: string): Promise<OidcStateRecord | undefined> {
    return runSqlite('oidc.find', () => toRecord(this.#stmts.find.get(model, key, Date.now())));
  }

  findByUid(model: string, uidKey: string): Promise<OidcStateRecord | undefined> {
    return runSqlite('oidc.findByUid', () => toRecord(this.#stmts.findByUid.get(model, uidKey, Date.now())));
  }

  consume(model: string, key: string, at: number): Promise<boolean> {
    return runSqlite(
      'oidc.consume',
      () => this.#stmts.consume.run(Math.trunc(at), model, key, Date.now()).changes === 1,
    );
  }

  destroy(model: string, key: string): Promise<void> {
    return runSqlite('oidc.destroy', () => {
      this.#stmts.destroy.run(model, key);
    });
  }

  revokeByGrantId(grantId: string): Promise<number> {
    return runSqlite('oidc.revokeByGrantId', () => this.#stmts.revokeByGrant.run(grantId).changes);
  }

  revokeByAccount(accountId: string): Promise<RevokedGrants> {
    return runSqlite('oidc.revokeByAccount', () => this.#revokeMany(this.#stmts.revokeByAccount, accountId));
  }

  revokeByClient(clientId: string): Promise<RevokedGrants> {
    return runSqlite('oidc.revokeByClient', () => this.#revokeMany(this.#stmts.revokeByClient, clientId));
  }

  purgeExpired(now: number): Promise<number> {
    return runSqlite('oidc.purgeExpired', () => this.#stmts.purge.run(Math.trunc(now)).changes);
  }

  /** Deletes the matching rows and then every other row of the grants they named, in one transaction. */
  #revokeMany(statement: Statement<[string], { grant_id: string | null }>, value: string): RevokedGrants {
    return this.#db.transaction(() => {
      const rows = statement.all(value);
      const grantIds = [...new Set(rows.map((row) => row.grant_id).filter((id): id is string => id !== null))];
      let records = rows.length;
      for (const grantId of grantIds) records += this.#stmts.revokeByGrant.run(grantId).changes;
      return { grantIds, records };
    })();
  }
}

/** The SQLite adapter of the OAuth client port. */
export class SqliteOAuthClientStore implements OAuthClientStore {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  create(client: StoredClient): Promise<'created' | 'duplicate'> {
    return runSqlite('clients.create', () => {
      try {
        this.#db
          .prepare(`INSERT INTO oauth_clients (${clientColumns}) VALUES (?, ?, ?, ?, ?, ?)`)
          .run(client.clientId, client.metadata, client.secretHash, client.status, client.createdAt, client.updatedAt);
        return 'created';
      } catch (error) {
        if (isSqliteUniqueViolation(error)) return 'duplicate';
        throw error;
      }
    });
  }

  get(clientId: string): Promise<StoredClient | undefined> {
    return runSqlite('clients.get', () => {
      const row = this.#db
        .prepare<[string], ClientRow>(`SELECT ${clientColumns} FROM oauth_clients WHERE client_id = ?`)
        .get(clientId);
      return row === undefined ? undefined : toClient(row);
    });
  }

  list(): Promise<StoredClient[]> {
    return runSqlite('clients.list', () =>
      this.#db
        .prepare<[], ClientRow>(`SELECT ${clientColumns} FROM oauth_clients ORDER BY client_id`)
        .all()
        .map(toClient),
    );
  }

  setStatus(clientId: string, status: StoredClient['status'], updatedAt: string): Promise<boolean> {
    return runSqlite(
      'clients.setStatus',
      () =>
        this.#db
          .prepare('UPDATE oauth_clients SET status = ?, updated_at = ? WHERE client_id = ?')
          .run(status, updatedAt, clientId).changes === 1,
    );
  }
}
