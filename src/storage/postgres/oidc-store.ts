import type { Pool } from 'pg';
import type {
  OAuthClientStore,
  OidcStateRecord,
  OidcStateStore,
  OidcStateWrite,
  RevokedGrants,
  StoredClient,
} from '../oidc-ports.js';
import { clientColumns, toClient, type ClientRow } from '../oidc-rows.js';
import { guardPg, isPgUniqueViolation } from './errors.js';

const insert = `INSERT INTO oidc_state (model, id_hash, payload, grant_id, account_id, client_id, uid_hash, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
// consumed_at is left as it was: a re-save never un-consumes a code or refresh token.
const update = `UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
  client_id = excluded.client_id, uid_hash = excluded.uid_hash, expires_at = excluded.expires_at`;

/** Deletes the rows matching `column`, then every other row of the grants they named, in one statement. */
function revokeManySql(column: 'account_id' | 'client_id'): string {
  return `WITH hit AS (DELETE FROM oidc_state WHERE ${column} = $1 RETURNING grant_id),
    grants AS (SELECT DISTINCT grant_id FROM hit WHERE grant_id IS NOT NULL),
    rest AS (DELETE FROM oidc_state WHERE grant_id IN (SELECT grant_id FROM grants) AND ${column} IS DISTINCT FROM $1 RETURNING 1)
    SELECT COALESCE((SELECT array_agg(grant_id ORDER BY grant_id) FROM grants), '{}') AS grant_ids,
      (SELECT count(*) FROM hit) + (SELECT count(*) FROM rest) AS records`;
}

const sql = {
  upsert: `${insert} ON CONFLICT (model, id_hash) DO ${update}`,
  // One statement: a concurrent inserter waits on the row, then the WHERE sees the winner's unexpired row and nothing is returned.
  insertIfAbsent: `${insert} ON CONFLICT (model, id_hash) DO ${update}, consumed_at = NULL WHERE oidc_state.expires_at <= $9 RETURNING 1`,
  find: 'SELECT payload, consumed_at FROM oidc_state WHERE model = $1 AND id_hash = $2 AND expires_at > $3',
  findByUid: 'SELECT payload, consumed_at FROM oidc_state WHERE model = $1 AND uid_hash = $2 AND expires_at > $3',
  // Compare-and-set under READ COMMITTED: a second UPDATE waits on the row lock, re-checks
  // consumed_at IS NULL on the committed row and changes nothing (two processes cannot both redeem).
  consume:
    'UPDATE oidc_state SET consumed_at = $1 WHERE model = $2 AND id_hash = $3 AND consumed_at IS NULL AND expires_at > $4',
  destroy: 'DELETE FROM oidc_state WHERE model = $1 AND id_hash = $2',
  revokeByGrant: 'DELETE FROM oidc_state WHERE grant_id = $1',
  revokeByAccount: revokeManySql('account_id'),
  revokeByClient: revokeManySql('client_id'),
  purge: 'DELETE FROM oidc_state WHERE expires_at <= $1',
} as const;

function params(write: OidcStateWrite): unknown[] {
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

interface StateRow {
  payload: string;
  consumed_at: string | null;
}

function toRecord(row: StateRow | undefined): OidcStateRecord | undefined {
  // bigint columns arrive as strings from pg.
  return row === undefined
    ? undefined
    : { payload: row.payload, consumedAt: row.consumed_at === null ? null : Number(row.consumed_at) };
}

/** The PostgreSQL adapter of the provider-state port: shared by every server process. */
export class PostgresOidcStateStore implements OidcStateStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async upsert(write: OidcStateWrite): Promise<void> {
    await guardPg('oidc.upsert', () => this.#pool.query(sql.upsert, params(write)));
  }

  async insertIfAbsent(write: OidcStateWrite): Promise<boolean> {
    return guardPg(
      'oidc.insertIfAbsent',
      async () => (await this.#pool.query(sql.insertIfAbsent, [...params(write), Date.now()])).rowCount === 1,
    );
  }

  async find(model: string, key: string): Promise<OidcStateRecord | undefined> {
    return guardPg('oidc.find', async () =>
      toRecord((await this.#pool.query<StateRow>(sql.find, [model, key, Date.now()])).rows[0]),
    );
  }

  async findByUid(model: string, uidKey: string): Promise<OidcStateRecord | undefined> {
    return guardPg('oidc.findByUid', async () =>
      toRecord((await this.#pool.query<StateRow>(sql.findByUid, [model, uidKey, Date.now()])).rows[0]),
    );
  }

  async consume(model: string, key: string, at: number): Promise<boolean> {
    return guardPg(
      'oidc.consume',
      async () => (await this.#pool.query(sql.consume, [Math.trunc(at), model, key, Date.now()])).rowCount === 1,
    );
  }

  async destroy(model: string, key: string): Promise<void> {
    await guardPg('oidc.destroy', () => this.#pool.query(sql.destroy, [model, key]));
  }

  async revokeByGrantId(grantId: string): Promise<number> {
    return guardPg(
      'oidc.revokeByGrantId',
      async () => (await this.#pool.query(sql.revokeByGrant, [grantId])).rowCount ?? 0,
    );
  }

  async revokeByAccount(accountId: string): Promise<RevokedGrants> {
    return guardPg('oidc.revokeByAccount', () => this.#revokeMany(sql.revokeByAccount, accountId));
  }

  async revokeByClient(clientId: string): Promise<RevokedGrants> {
    return guardPg('oidc.revokeByClient', () => this.#revokeMany(sql.revokeByClient, clientId));
  }

  async purgeExpired(now: number): Promise<number> {
    return guardPg(
      'oidc.purgeExpired',
      async () => (await this.#pool.query(sql.purge, [Math.trunc(now)])).rowCount ?? 0,
    );
  }

  async #revokeMany(text: string, value: string): Promise<RevokedGrants> {
    const result = await this.#pool.query<{ grant_ids: string[]; records: string }>(text, [value]);
    const row = result.rows[0];
    return { grantIds: row?.grant_ids ?? [], records: Number(row?.records ?? 0) };
  }
}

/** The PostgreSQL adapter of the OAuth client port. */
export class PostgresOAuthClientStore implements OAuthClientStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async create(client: StoredClient): Promise<'created' | 'duplicate'> {
    return guardPg('clients.create', async () => {
      try {
        await this.#pool.query(`INSERT INTO oauth_clients (${clientColumns}) VALUES ($1, $2, $3, $4, $5, $6)`, [
          client.clientId,
          client.metadata,
          client.secretHash,
          client.status,
          client.createdAt,
          client.updatedAt,
        ]);
        return 'created';
      } catch (error) {
        if (isPgUniqueViolation(error)) return 'duplicate';
        throw error;
      }
    });
  }

  async get(clientId: string): Promise<StoredClient | undefined> {
    return guardPg('clients.get', async () => {
      const row = (
        await this.#pool.query<ClientRow>(`SELECT ${clientColumns} FROM oauth_clients WHERE client_id = $1`, [clientId])
      ).rows[0];
      return row === undefined ? undefined : toClient(row);
    });
  }

  async list(): Promise<StoredClient[]> {
    return guardPg('clients.list', async () =>
      (await this.#pool.query<ClientRow>(`SELECT ${clientColumns} FROM oauth_clients ORDER BY client_id`)).rows.map(
        toClient,
      ),
    );
  }

  async setStatus(clientId: string, status: StoredClient['status'], updatedAt: string): Promise<boolean> {
    return guardPg(
      'clients.setStatus',
      async () =>
        (
          await this.#pool.query('UPDATE oauth_clients SET status = $1, updated_at = $2 WHERE client_id = $3', [
            status,
            updatedAt,
            clientId,
          ])
        ).rowCount === 1,
    );
  }
}
