import type { Statement } from 'better-sqlite3';
import type { KeyValueStore } from '../ports.js';
import { assertTtl } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';

/** Statements prepared once per adapter instance, on first use. */
interface KvStatements {
  readonly get: Statement<[string, number], { value: string }>;
  readonly getMany: Statement<[string, number], { key: string; value: string }>;
  readonly set: Statement<[string, string, number]>;
  readonly setIfAbsent: Statement<[string, string, number, number]>;
  readonly take: Statement<[string, number], { value: string }>;
  readonly delete: Statement<[string]>;
  readonly purge: Statement<[number]>;
}

function prepareStatements(db: SqliteConnection): KvStatements {
  return {
    get: db.prepare('SELECT value FROM kv WHERE key = ? AND expires_at > ?'),
    getMany: db.prepare(`SELECT key, value FROM kv
      WHERE key IN (SELECT value FROM json_each(?)) AND expires_at > ?`),
    set: db.prepare(`INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`),
    // One statement, so the "absent or expired" check and the write are atomic.
    setIfAbsent: db.prepare(`INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
      WHERE kv.expires_at <= ?`),
    // DELETE … RETURNING (SQLite 3.35+): get and delete in one atomic statement.
    take: db.prepare('DELETE FROM kv WHERE key = ? AND expires_at > ? RETURNING value'),
    delete: db.prepare('DELETE FROM kv WHERE key = ?'),
    purge: db.prepare('DELETE FROM kv WHERE expires_at <= ?'),
  };
}

/** Up to this many keys, getMany binds them inline. */
const maxInlineKeys = 8;

/** The SQLite key-value store; expiry is checked on read and purged in bulk. */
export class SqliteKeyValueStore implements KeyValueStore {
  readonly #db: SqliteConnection;
  #statements: KvStatements | undefined;
  readonly #inline = new Map<number, Statement<unknown[], { key: string; value: string }>>();

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  get #stmts(): KvStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  #inlineGetMany(arity: number): Statement<unknown[], { key: string; value: string }> {
    let statement = this.#inline.get(arity);
    if (statement === undefined) {
      const marks = Array.from({ length: arity }, () => '?').join(', ');
      statement = this.#db.prepare<unknown[], { key: string; value: string }>(`SELECT key, value FROM kv WHERE key IN (${marks}) AND expires_at > ?`);
      this.#inline.set(arity, statement);
    }
    return statement;
  }

  get(key: string): Promise<string | undefined> {
    return runSqlite('kv.get', () => this.#stmts.get.get(key, Date.now())?.value);
  }

  getMany(keys: readonly string[]): Promise<Map<string, string>> {
    return runSqlite('kv.getMany', () => {
      const found = new Map<string, string>();
      if (keys.length === 0) return found;
      // Few keys (the revocation check on every request uses three): a fixed-arity
      // statement, cached per arity, costs a third of binding them through json_each.
      const rows = keys.length <= maxInlineKeys
        ? this.#inlineGetMany(keys.length).all(...keys, Date.now())
        : this.#stmts.getMany.all(JSON.stringify(keys), Date.now());
      for (const row of rows) found.set(row.key, row.value);
      return found;
    });
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return runSqlite('kv.set', () => {
      assertTtl('kv.set', ttlMs);
      this.#stmts.set.run(key, value, Math.trunc(Date.now() + ttlMs));
    });
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return runSqlite('kv.setIfAbsent', () => {
      assertTtl('kv.setIfAbsent', ttlMs);
      const now = Date.now();
      return this.#stmts.setIfAbsent.run(key, value, Math.trunc(now + ttlMs), now).changes === 1;
    });
  }

  take(key: string): Promise<string | undefined> {
    return runSqlite('kv.take', () => this.#stmts.take.get(key, Date.now())?.value);
  }

  delete(key: string): Promise<void> {
    return runSqlite('kv.delete', () => {
      this.#stmts.delete.run(key);
    });
  }

  purgeExpired(): Promise<number> {
    return runSqlite('kv.purgeExpired', () => this.#stmts.purge.run(Date.now()).changes);
  }
}
