import type { Pool, PoolClient } from 'pg';
import { StorageError } from '../errors.js';
import type { IndexEntry, IndexKeyStore, IndexRotationProgress, StoredIndexKey } from '../ports.js';
import { toBytes } from '../rows.js';
import { assertLimit } from '../validate.js';
import { guardPg } from './errors.js';
import { withTransaction } from './pool.js';

interface IndexKeyRow {
  readonly id: string;
  readonly kek_id: string;
  readonly wrapped: Buffer;
  readonly created_at: string;
  readonly state: StoredIndexKey['state'];
}

const columns = 'id, kek_id, wrapped, created_at, state';

const sql = {
  list: `SELECT ${columns} FROM index_keys ORDER BY created_at, id`,
  inState: `SELECT ${columns} FROM index_keys WHERE state = $1`,
  // Serializes first-key creation across processes for this transaction only.
  lock: 'LOCK TABLE index_keys IN SHARE ROW EXCLUSIVE MODE',
  anyKey: 'SELECT 1 FROM index_keys LIMIT 1',
  // DO NOTHING on any unique violation, the one-written and one-searched partial indexes included.
  insert: `INSERT INTO index_keys (${columns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
  setState: 'UPDATE index_keys SET state = $1 WHERE id = $2 AND state = $3',
  progress: 'SELECT type, after_id, done FROM index_key_progress WHERE key_id = $1',
  saveProgress: `INSERT INTO index_key_progress (key_id, type, after_id, done) VALUES ($1, $2, $3, $4)
    ON CONFLICT (key_id) DO UPDATE SET type = excluded.type, after_id = excluded.after_id, done = excluded.done`,
  dropProgress: 'DELETE FROM index_key_progress WHERE key_id = $1',
  // FOR UPDATE: a concurrent commit of this resource waits until the index is replaced, or wins first and the check fails.
  currentVersion: 'SELECT version, deleted FROM resources WHERE type = $1 AND id = $2 FOR UPDATE',
  clearIndex: 'DELETE FROM search_index WHERE type = $1 AND id = $2',
  insertIndex: `INSERT INTO search_index (type, param, token, id)
    SELECT $1, u.param, u.token, $2 FROM unnest($3::text[], $4::text[]) AS u(param, token)
    ON CONFLICT DO NOTHING`,
  // A range on the (type, param, token, id) primary key (COLLATE "C": byte order).
  withPrefix: `SELECT DISTINCT id FROM search_index
    WHERE type = $1 AND param = $2 AND token >= $3 AND token < $4 AND id > $5 ORDER BY id LIMIT $6`,
  count: 'SELECT count(*)::bigint AS n FROM resources WHERE type = $1 AND NOT deleted',
  rewrap: 'UPDATE index_keys SET kek_id = $1, wrapped = $2 WHERE id = $3 AND kek_id = $4 AND wrapped = $5',
} as const;

function toIndexKey(row: IndexKeyRow): StoredIndexKey {
  return {
    id: row.id,
    kekId: row.kek_id,
    wrapped: toBytes(row.wrapped) ?? new Uint8Array(0),
    createdAt: row.created_at,
    state: row.state,
  };
}

async function inState(
  client: Pool | PoolClient,
  operation: string,
  state: StoredIndexKey['state'],
): Promise<StoredIndexKey> {
  const row = (await client.query<IndexKeyRow>(sql.inState, [state])).rows[0];
  if (row === undefined) throw new StorageError(operation, 'failed');
  return toIndexKey(row);
}

async function setState(client: PoolClient, operation: string, state: string, id: string, from: string): Promise<void> {
  if ((await client.query(sql.setState, [state, id, from])).rowCount !== 1) throw new StorageError(operation, 'failed');
}

/** The PostgreSQL store of wrapped index keys, shared by every process of a deployment. */
export class PostgresIndexKeyStore implements IndexKeyStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async list(): Promise<StoredIndexKey[]> {
    return guardPg('indexKeys.list', async () => (await this.#pool.query<IndexKeyRow>(sql.list)).rows.map(toIndexKey));
  }

  async insertFirstIfAbsent(key: Omit<StoredIndexKey, 'state'>): Promise<StoredIndexKey> {
    return guardPg('indexKeys.insertFirstIfAbsent', () =>
      withTransaction(this.#pool, async (client) => {
        await client.query(sql.lock);
        if ((await client.query(sql.anyKey)).rowCount === 0) {
          await client.query(sql.insert, [key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt, 'written']);
        }
        return inState(client, 'indexKeys.insertFirstIfAbsent', 'written');
      }),
    );
  }

  async insertIncomingIfAbsent(key: Omit<StoredIndexKey, 'state'>): Promise<StoredIndexKey> {
    return guardPg('indexKeys.insertIncomingIfAbsent', async () => {
      await this.#pool.query(sql.insert, [key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt, 'searched']);
      return inState(this.#pool, 'indexKeys.insertIncomingIfAbsent', 'searched');
    });
  }

  async switchWrites(id: string): Promise<void> {
    await guardPg('indexKeys.switchWrites', () =>
      withTransaction(this.#pool, async (client) => {
        const written = await inState(client, 'indexKeys.switchWrites', 'written');
        // Three steps: the one-written/one-searched indexes are checked row by row.
        await setState(client, 'indexKeys.switchWrites', 'retired', written.id, 'written');
        await setState(client, 'indexKeys.switchWrites', 'written', id, 'searched');
        await setState(client, 'indexKeys.switchWrites', 'searched', written.id, 'retired');
      }),
    );
  }

  async retire(id: string): Promise<void> {
    await guardPg('indexKeys.retire', () =>
      withTransaction(this.#pool, async (client) => {
        await client.query(sql.dropProgress, [id]);
        await setState(client, 'indexKeys.retire', 'retired', id, 'searched');
      }),
    );
  }

  async progress(id: string): Promise<IndexRotationProgress | undefined> {
    return guardPg('indexKeys.progress', async () => {
      const row = (await this.#pool.query<{ type: string; after_id: string; done: string }>(sql.progress, [id]))
        .rows[0];
      return row === undefined ? undefined : { type: row.type, after: row.after_id, done: Number(row.done) };
    });
  }

  async saveProgress(id: string, progress: IndexRotationProgress): Promise<void> {
    await guardPg('indexKeys.saveProgress', () =>
      this.#pool.query(sql.saveProgress, [id, progress.type, progress.after, progress.done]),
    );
  }

  async replaceIndex(type: string, id: string, version: number, index: readonly IndexEntry[]): Promise<boolean> {
    return guardPg('indexKeys.replaceIndex', () =>
      withTransaction(this.#pool, async (client) => {
        const current = (await client.query<{ version: number; deleted: boolean }>(sql.currentVersion, [type, id]))
          .rows[0];
        if (current?.version !== version || current.deleted) return false;
        await client.query(sql.clearIndex, [type, id]);
        if (index.length > 0)
          await client.query(sql.insertIndex, [type, id, index.map((e) => e.param), index.map((e) => e.token)]);
        return true;
      }),
    );
  }

  async idsWithTokenPrefix(
    type: string,
    param: string,
    prefix: string,
    after: string,
    limit: number,
  ): Promise<string[]> {
    return guardPg('indexKeys.idsWithTokenPrefix', async () => {
      assertLimit('indexKeys.idsWithTokenPrefix', limit);
      const result = await this.#pool.query<{ id: string }>(sql.withPrefix, [
        type,
        param,
        prefix,
        `${prefix}\uffff`,
        after,
        limit,
      ]);
      return result.rows.map((row) => row.id);
    });
  }

  async countCurrent(type: string): Promise<number> {
    return guardPg('indexKeys.countCurrent', async () =>
      Number((await this.#pool.query<{ n: string }>(sql.count, [type])).rows[0]?.n ?? 0),
    );
  }

  async rewrap(
    id: string,
    expected: { kekId: string; wrapped: Uint8Array },
    next: { kekId: string; wrapped: Uint8Array },
  ): Promise<boolean> {
    return guardPg('indexKeys.rewrap', async () => {
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
