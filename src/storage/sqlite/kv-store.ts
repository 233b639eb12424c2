import type { Statement } from 'better-sqlite3';
import type { KeyValueStore } from '../ports.js';
import { assertTtl } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';
import type { SqliteReadCache } from './read-cache.js';

/** Statements prepared once per adapter instance, on first use. */
interface KvStatements {
  readonly get: Statement<[string, number], { value: string }>;
  readonly getWithExpiry: Statement<[string], { value: string; expires_at: number }>;
  readonly set: Statement<[string, string, number]>;
  readonly setIfAbsent: Statement<[string, string, number, number]>;
  readonly increment: Statement<[string, number, number], { value: string }>;
  readonly take: Statement<[string, number], { value: string }>;
  readonly delete: Statement<[string]>;
  readonly purge: Statement<[number]>;
}

function prepareStatements(db: SqliteConnection): KvStatements {
  return {
    get: db.prepare('SELECT value FROM kv WHERE key = ? AND expires_at > ?'),
    getWithExpiry: db.prepare('SELECT value, expires_at FROM kv WHERE key = ?'),
    set: db.prepare(`INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`),
    // One statement, so the "absent or expired" check and the write are atomic.
    setIfAbsent: db.prepare(`INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
      WHERE kv.expires_at <= ?`),
    // UPSERT … RETURNING (SQLite 3.35+): read, add and write in one statement, so no count is lost.
    // Only a value of digits counts on (a GLOB class, as CAST would read '12abc' as 12).
    increment: db.prepare(`INSERT INTO kv (key, value, expires_at) VALUES (?, '1', ?)
      ON CONFLICT (key) DO UPDATE SET
        value = CASE WHEN kv.expires_at <= ? OR kv.value = '' OR kv.value GLOB '*[^0-9]*' OR length(kv.value) > 15
          THEN '1' ELSE CAST(CAST(kv.value AS INTEGER) + 1 AS TEXT) END,
        expires_at = excluded.expires_at
      RETURNING value`),
    // DELETE … RETURNING (SQLite 3.35+): get and delete in one atomic statement.
    take: db.prepare('DELETE FROM kv WHERE key = ? AND expires_at > ? RETURNING value'),
    delete: db.prepare('DELETE FROM kv WHERE key = ?'),
    purge: db.prepare('DELETE FROM kv WHERE expires_at <= ?'),
  };
}

/** The SQLite key-value store; expiry is checked on read and purged in bulk. */
export class SqliteKeyValueStore implements KeyValueStore {
  readonly #db: SqliteConnection;
  readonly #cache: SqliteReadCache;
  #statements: KvStatements | undefined;

  /** `cache` is shared with the connection's other stores; every write here invalidates it. */
  constructor(db: SqliteConnection, cache: SqliteReadCache) {
    this.#db = db;
    this.#cache = cache;
  }

  get #stmts(): KvStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  get(key: string): Promise<string | undefined> {
    return runSqlite('kv.get', () => this.#stmts.get.get(key, Date.now())?.value);
  }

  /**
   * Every request's revocation check: each key is remembered, present or
   * absent, while the file is unchanged (read-cache.ts); expiry is checked
   * against the clock at each call.
   */
  getMany(keys: readonly string[]): Promise<Map<string, string>> {
    return runSqlite('kv.getMany', () => {
      const found = new Map<string, string>();
      const now = Date.now();
      const cache = this.#cache.fresh();
      for (const key of keys) {
        const row = cache.read(
          `kv:${key}`,
          () => this.#stmts.getWithExpiry.get(key) ?? null,
          (hit) => (hit === null ? 16 : hit.value.length + 16),
        );
        if (row !== null && row.expires_at > now) found.set(key, row.value);
      }
      return found;
    });
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return runSqlite('kv.set', () => {
      assertTtl('kv.set', ttlMs);
      this.#cache.invalidate();
      this.#stmts.set.run(key, value, Math.trunc(Date.now() + ttlMs));
    });
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return runSqlite('kv.setIfAbsent', () => {
      assertTtl('kv.setIfAbsent', ttlMs);
      this.#cache.invalidate();
      const now = Date.now();
      return this.#stmts.setIfAbsent.run(key, value, Math.trunc(now + ttlMs), now).changes === 1;
    });
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return runSqlite('kv.increment', () => {
      assertTtl('kv.increment', ttlMs);
      this.#cache.invalidate();
      const now = Date.now();
      const row = this.#stmts.increment.get(key, Math.trunc(now + ttlMs), now);
      return Number(row?.value);
    });
  }

  take(key: string): Promise<string | undefined> {
    return runSqlite('kv.take', () => {
      this.#cache.invalidate();
      return this.#stmts.take.get(key, Date.now())?.value;
    });
  }

  delete(key: string): Promise<void> {
    return runSqlite('kv.delete', () => {
      this.#cache.invalidate();
      this.#stmts.delete.run(key);
    });
  }

  purgeExpired(): Promise<number> {
    return runSqlite('kv.purgeExpired', () => {
      this.#cache.invalidate();
      return this.#stmts.purge.run(Date.now()).changes;
    });
  }
}
