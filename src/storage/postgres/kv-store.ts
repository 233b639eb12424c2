import type { Pool } from 'pg';
import type { KeyValueStore } from '../ports.js';
import { assertTtl } from '../validate.js';
import { guardPg } from './errors.js';

const sql = {
  get: 'SELECT value FROM kv WHERE key = $1 AND expires_at > $2',
  getMany: 'SELECT key, value FROM kv WHERE key = ANY($1::text[]) AND expires_at > $2',
  set: `INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, $3)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  // One statement: a concurrent inserter waits on the row, then the WHERE is
  // evaluated against the winner's unexpired row and nothing is returned.
  setIfAbsent: `INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, $3)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
    WHERE kv.expires_at <= $4
    RETURNING key`,
  // One statement: a concurrent incrementer waits on the row lock and then
  // adds to the committed value, so no count is lost. Only digits count on.
  increment: `INSERT INTO kv (key, value, expires_at) VALUES ($1, '1', $2)
    ON CONFLICT (key) DO UPDATE SET
      value = CASE WHEN kv.expires_at <= $3 OR kv.value !~ '^[0-9]{1,15}$' THEN '1' ELSE (kv.value::bigint + 1)::text END,
      expires_at = excluded.expires_at
    RETURNING value`,
  // Atomic get-and-delete: of two concurrent takers, the second finds the row gone.
  take: 'DELETE FROM kv WHERE key = $1 AND expires_at > $2 RETURNING value',
  delete: 'DELETE FROM kv WHERE key = $1',
  purge: 'DELETE FROM kv WHERE expires_at <= $1',
} as const;

/** The PostgreSQL key-value store; expiry is checked on read and purged in bulk. */
export class PostgresKeyValueStore implements KeyValueStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async get(key: string): Promise<string | undefined> {
    return guardPg('kv.get', async () => {
      const result = await this.#pool.query<{ value: string }>(sql.get, [key, Date.now()]);
      return result.rows[0]?.value;
    });
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    return guardPg('kv.getMany', async () => {
      const found = new Map<string, string>();
      if (keys.length === 0) return found;
      const result = await this.#pool.query<{ key: string; value: string }>(sql.getMany, [[...keys], Date.now()]);
      for (const row of result.rows) found.set(row.key, row.value);
      return found;
    });
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await guardPg('kv.set', async () => {
      assertTtl('kv.set', ttlMs);
      await this.#pool.query(sql.set, [key, value, Math.trunc(Date.now() + ttlMs)]);
    });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return guardPg('kv.setIfAbsent', async () => {
      assertTtl('kv.setIfAbsent', ttlMs);
      const now = Date.now();
      const result = await this.#pool.query(sql.setIfAbsent, [key, value, Math.trunc(now + ttlMs), now]);
      return result.rowCount === 1;
    });
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    return guardPg('kv.increment', async () => {
      assertTtl('kv.increment', ttlMs);
      const now = Date.now();
      const result = await this.#pool.query<{ value: string }>(sql.increment, [key, Math.trunc(now + ttlMs), now]);
      return Number(result.rows[0]?.value);
    });
  }

  async take(key: string): Promise<string | undefined> {
    return guardPg('kv.take', async () => {
      const result = await this.#pool.query<{ value: string }>(sql.take, [key, Date.now()]);
      return result.rows[0]?.value;
    });
  }

  async delete(key: string): Promise<void> {
    await guardPg('kv.delete', async () => {
      await this.#pool.query(sql.delete, [key]);
    });
  }

  async purgeExpired(): Promise<number> {
    return guardPg('kv.purgeExpired', async () => {
      const result = await this.#pool.query(sql.purge, [Date.now()]);
      return result.rowCount ?? 0;
    });
  }
}
