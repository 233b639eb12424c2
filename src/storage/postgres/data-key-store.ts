import type { Pool } from 'pg';
import { StorageError } from '../errors.js';
import type { DataKeyStore, StoredDataKey } from '../ports.js';
import { toBytes } from '../rows.js';
import { guardPg } from './errors.js';

interface DataKeyRow {
  readonly id: string;
  readonly kek_id: string;
  readonly wrapped: Buffer;
  readonly created_at: string;
  readonly state: 'current' | 'retired';
}

const columns = 'id, kek_id, wrapped, created_at, state';

const sql = {
  current: `SELECT ${columns} FROM data_keys WHERE state = 'current'`,
  get: `SELECT ${columns} FROM data_keys WHERE id = $1`,
  // DO NOTHING on any unique violation, the one-current partial index included: a concurrent
  // inserter waits for the winner's transaction, then does nothing (the caller re-reads).
  insertCurrent: `INSERT INTO data_keys (${columns}) VALUES ($1, $2, $3, $4, 'current') ON CONFLICT DO NOTHING`,
  list: `SELECT ${columns} FROM data_keys ORDER BY created_at, id`,
} as const;

function toDataKey(row: DataKeyRow): StoredDataKey {
  return { id: row.id, kekId: row.kek_id, wrapped: toBytes(row.wrapped) ?? new Uint8Array(0), createdAt: row.created_at, state: row.state };
}

/** The PostgreSQL store of wrapped data keys, shared by every process of a deployment. */
export class PostgresDataKeyStore implements DataKeyStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async current(): Promise<StoredDataKey | undefined> {
    return guardPg('dataKeys.current', async () => {
      const row = (await this.#pool.query<DataKeyRow>(sql.current)).rows[0];
      return row === undefined ? undefined : toDataKey(row);
    });
  }

  async get(id: string): Promise<StoredDataKey | undefined> {
    return guardPg('dataKeys.get', async () => {
      const row = (await this.#pool.query<DataKeyRow>(sql.get, [id])).rows[0];
      return row === undefined ? undefined : toDataKey(row);
    });
  }

  async insertCurrentIfAbsent(key: Omit<StoredDataKey, 'state'>): Promise<StoredDataKey> {
    return guardPg('dataKeys.insertCurrentIfAbsent', async () => {
      await this.#pool.query(sql.insertCurrent, [key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt]);
      const row = (await this.#pool.query<DataKeyRow>(sql.current)).rows[0];
      if (row === undefined) throw new StorageError('dataKeys.insertCurrentIfAbsent', 'failed');
      return toDataKey(row);
    });
  }

  async list(): Promise<StoredDataKey[]> {
    return guardPg('dataKeys.list', async () => (await this.#pool.query<DataKeyRow>(sql.list)).rows.map(toDataKey));
  }
}
