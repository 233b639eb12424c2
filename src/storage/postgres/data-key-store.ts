import type { Pool } from 'pg';
import { StorageError } from '../errors.js';
import type { DataKeyStore, StoredDataKey } from '../ports.js';
import { toBytes } from '../rows.js';
import { guardPg } from './errors.js';
import { withTransaction } from './pool.js';

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
  // FOR UPDATE: a concurrent rotation waits here, then sees the key this one made current.
  lockCurrent: `SELECT id FROM data_keys WHERE state = 'current' FOR UPDATE`,
  retire: `UPDATE data_keys SET state = 'retired' WHERE id = $1 AND state = 'current'`,
  rewrap: 'UPDATE data_keys SET kek_id = $1, wrapped = $2 WHERE id = $3 AND kek_id = $4 AND wrapped = $5',
} as const;

function toDataKey(row: DataKeyRow): StoredDataKey {
  return {
    id: row.id,
    kekId: row.kek_id,
    wrapped: toBytes(row.wrapped) ?? new Uint8Array(0),
    createdAt: row.created_at,
    state: row.state,
  };
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

  async rotateCurrent(key: Omit<StoredDataKey, 'state'>, expectedCurrentId: string | undefined): Promise<boolean> {
    return guardPg('dataKeys.rotateCurrent', () =>
      withTransaction(this.#pool, async (client) => {
        const current = (await client.query<{ id: string }>(sql.lockCurrent)).rows[0];
        if (current?.id !== expectedCurrentId) return false;
        if (current !== undefined) await client.query(sql.retire, [current.id]);
        // With no current key, two first rotations race on the one-current index: the loser's insert does nothing.
        return (
          (await client.query(sql.insertCurrent, [key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt]))
            .rowCount === 1
        );
      }),
    );
  }

  async rewrap(
    id: string,
    expected: { kekId: string; wrapped: Uint8Array },
    next: { kekId: string; wrapped: Uint8Array },
  ): Promise<boolean> {
    return guardPg('dataKeys.rewrap', async () => {
      const result = await this.#pool.query(sql.rewrap, [
        next.kekId,
        Buffer.from(next.wrapped),
        id,
        expected.kekId,
        Buffer.from(expected.wrapped),
      ]);
      return result.rowCount === 1;
    });
  }
}
