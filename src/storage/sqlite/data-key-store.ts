import type { Statement } from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { DataKeyStore, StoredDataKey } from '../ports.js';
import { toBytes } from '../rows.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';

interface DataKeyRow {
  readonly id: string;
  readonly kek_id: string;
  readonly wrapped: Uint8Array;
  readonly created_at: string;
  readonly state: 'current' | 'retired';
}

const columns = 'id, kek_id, wrapped, created_at, state';

interface DataKeyStatements {
  readonly current: Statement<[], DataKeyRow>;
  readonly get: Statement<[string], DataKeyRow>;
  readonly insertCurrent: Statement<[string, string, Buffer, string]>;
  readonly list: Statement<[], DataKeyRow>;
  readonly retireCurrent: Statement<[string]>;
  readonly rewrap: Statement<[string, Buffer, string, string, Buffer]>;
}

function prepareStatements(db: SqliteConnection): DataKeyStatements {
  return {
    current: db.prepare(`SELECT ${columns} FROM data_keys WHERE state = 'current'`),
    get: db.prepare(`SELECT ${columns} FROM data_keys WHERE id = ?`),
    // DO NOTHING on any uniqueness conflict, the one-current partial index included: the insert and the check are one statement.
    insertCurrent: db.prepare(
      `INSERT INTO data_keys (${columns}) VALUES (?, ?, ?, ?, 'current') ON CONFLICT DO NOTHING`,
    ),
    list: db.prepare(`SELECT ${columns} FROM data_keys ORDER BY created_at, id`),
    retireCurrent: db.prepare(`UPDATE data_keys SET state = 'retired' WHERE state = 'current' AND id = ?`),
    rewrap: db.prepare('UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE id = ? AND kek_id = ? AND wrapped = ?'),
  };
}

/** Maps a row to the port's shape. */
function toDataKey(row: DataKeyRow): StoredDataKey {
  return {
    id: row.id,
    kekId: row.kek_id,
    wrapped: toBytes(row.wrapped) ?? new Uint8Array(0),
    createdAt: row.created_at,
    state: row.state,
  };
}

/** The SQLite store of wrapped data keys (in the main database file, beside the resources they seal). */
export class SqliteDataKeyStore implements DataKeyStore {
  readonly #db: SqliteConnection;
  #statements: DataKeyStatements | undefined;
  readonly #rotate: (key: Omit<StoredDataKey, 'state'>, expectedCurrentId: string | undefined) => boolean;

  constructor(db: SqliteConnection) {
    this.#db = db;
    // BEGIN IMMEDIATE: the check of the current key and the swap are one step against every other process.
    const tx = db.transaction((key: Omit<StoredDataKey, 'state'>, expectedCurrentId: string | undefined) => {
      const current = this.#stmts.current.get();
      if (current?.id !== expectedCurrentId) return false;
      if (current !== undefined) this.#stmts.retireCurrent.run(current.id);
      return this.#stmts.insertCurrent.run(key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt).changes === 1;
    });
    this.#rotate = (key, expectedCurrentId) => tx.immediate(key, expectedCurrentId);
  }

  get #stmts(): DataKeyStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  current(): Promise<StoredDataKey | undefined> {
    return runSqlite('dataKeys.current', () => {
      const row = this.#stmts.current.get();
      return row === undefined ? undefined : toDataKey(row);
    });
  }

  get(id: string): Promise<StoredDataKey | undefined> {
    return runSqlite('dataKeys.get', () => {
      const row = this.#stmts.get.get(id);
      return row === undefined ? undefined : toDataKey(row);
    });
  }

  insertCurrentIfAbsent(key: Omit<StoredDataKey, 'state'>): Promise<StoredDataKey> {
    return runSqlite('dataKeys.insertCurrentIfAbsent', () => {
      this.#stmts.insertCurrent.run(key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt);
      const row = this.#stmts.current.get();
      if (row === undefined) throw new StorageError('dataKeys.insertCurrentIfAbsent', 'failed');
      return toDataKey(row);
    });
  }

  list(): Promise<StoredDataKey[]> {
    return runSqlite('dataKeys.list', () => this.#stmts.list.all().map(toDataKey));
  }

  rotateCurrent(key: Omit<StoredDataKey, 'state'>, expectedCurrentId: string | undefined): Promise<boolean> {
    return runSqlite('dataKeys.rotateCurrent', () => this.#rotate(key, expectedCurrentId));
  }

  rewrap(
    id: string,
    expected: { kekId: string; wrapped: Uint8Array },
    next: { kekId: string; wrapped: Uint8Array },
  ): Promise<boolean> {
    return runSqlite(
      'dataKeys.rewrap',
      () =>
        this.#stmts.rewrap.run(next.kekId, Buffer.from(next.wrapped), id, expected.kekId, Buffer.from(expected.wrapped))
          .changes === 1,
    );
  }
}
