import { StorageError } from '../errors.js';
import type { IndexEntry, IndexKeyStore, IndexRotationProgress, StoredIndexKey } from '../ports.js';
import { toBytes } from '../rows.js';
import { assertLimit } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';

interface IndexKeyRow {
  readonly id: string;
  readonly kek_id: string;
  readonly wrapped: Uint8Array;
  readonly created_at: string;
  readonly state: StoredIndexKey['state'];
}

interface ProgressRow {
  readonly type: string;
  readonly after_id: string;
  readonly done: number;
}

const columns = 'id, kek_id, wrapped, created_at, state';

function prepareStatements(db: SqliteConnection) {
  return {
    list: db.prepare<[], IndexKeyRow>(`SELECT ${columns} FROM index_keys ORDER BY created_at, id`),
    inState: db.prepare<[string], IndexKeyRow>(`SELECT ${columns} FROM index_keys WHERE state = ?`),
    // DO NOTHING on any uniqueness conflict, the one-written and one-searched partial indexes included.
    insert: db.prepare<[string, string, Buffer, string, string]>(
      `INSERT INTO index_keys (${columns}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    anyKey: db.prepare<[], { id: string }>('SELECT id FROM index_keys LIMIT 1'),
    setState: db.prepare<[string, string, string]>('UPDATE index_keys SET state = ? WHERE id = ? AND state = ?'),
    progress: db.prepare<[string], ProgressRow>('SELECT type, after_id, done FROM index_key_progress WHERE key_id = ?'),
    saveProgress: db.prepare<
      [string, string, string, number]
    >(`INSERT INTO index_key_progress (key_id, type, after_id, done) VALUES (?, ?, ?, ?)
      ON CONFLICT (key_id) DO UPDATE SET type = excluded.type, after_id = excluded.after_id, done = excluded.done`),
    dropProgress: db.prepare<[string]>('DELETE FROM index_key_progress WHERE key_id = ?'),
    currentVersion: db.prepare<[string, string], { version: number; deleted: number }>(
      'SELECT version, deleted FROM resources WHERE type = ? AND id = ?',
    ),
    clearIndex: db.prepare<[string, string]>('DELETE FROM search_index WHERE type = ? AND id = ?'),
    insertIndex: db.prepare<[string, string, string, string]>(
      'INSERT INTO search_index (type, param, token, id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    // A range on the (type, param, token, id) primary key: prefix <= token < prefix + U+FFFF.
    withPrefix: db.prepare<
      [string, string, string, string, string, number],
      { id: string }
    >(`SELECT DISTINCT id FROM search_index
      WHERE type = ? AND param = ? AND token >= ? AND token < ? AND id > ? ORDER BY id LIMIT ?`),
    count: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM resources WHERE type = ? AND deleted = 0'),
    rewrap: db.prepare<[string, Buffer, string, string, Buffer]>(
      'UPDATE index_keys SET kek_id = ?, wrapped = ? WHERE id = ? AND kek_id = ? AND wrapped = ?',
    ),
  };
}

type IndexKeyStatements = ReturnType<typeof prepareStatements>;

function toIndexKey(row: IndexKeyRow): StoredIndexKey {
  return {
    id: row.id,
    kekId: row.kek_id,
    wrapped: toBytes(row.wrapped) ?? new Uint8Array(0),
    createdAt: row.created_at,
    state: row.state,
  };
}

/** The SQLite store of wrapped index keys, beside the search index they key. */
export class SqliteIndexKeyStore implements IndexKeyStore {
  readonly #db: SqliteConnection;
  #statements: IndexKeyStatements | undefined;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  get #stmts(): IndexKeyStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  list(): Promise<StoredIndexKey[]> {
    return runSqlite('indexKeys.list', () => this.#stmts.list.all().map(toIndexKey));
  }

  insertFirstIfAbsent(key: Omit<StoredIndexKey, 'state'>): Promise<StoredIndexKey> {
    return runSqlite('indexKeys.insertFirstIfAbsent', () =>
      this.#db
        .transaction(() => {
          if (this.#stmts.anyKey.get() === undefined)
            this.#stmts.insert.run(key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt, 'written');
          return this.#inState('indexKeys.insertFirstIfAbsent', 'written');
        })
        .immediate(),
    );
  }

  insertIncomingIfAbsent(key: Omit<StoredIndexKey, 'state'>): Promise<StoredIndexKey> {
    return runSqlite('indexKeys.insertIncomingIfAbsent', () => {
      this.#stmts.insert.run(key.id, key.kekId, Buffer.from(key.wrapped), key.createdAt, 'searched');
      return this.#inState('indexKeys.insertIncomingIfAbsent', 'searched');
    });
  }

  switchWrites(id: string): Promise<void> {
    return runSqlite('indexKeys.switchWrites', () => {
      this.#db
        .transaction(() => {
          const written = this.#inState('indexKeys.switchWrites', 'written');
          // Three steps: SQLite checks the one-written/one-searched indexes row by row.
          if (
            this.#stmts.setState.run('retired', written.id, 'written').changes !== 1 ||
            this.#stmts.setState.run('written', id, 'searched').changes !== 1 ||
            this.#stmts.setState.run('searched', written.id, 'retired').changes !== 1
          ) {
            throw new StorageError('indexKeys.switchWrites', 'failed');
          }
        })
        .immediate();
    });
  }

  retire(id: string): Promise<void> {
    return runSqlite('indexKeys.retire', () => {
      this.#db
        .transaction(() => {
          this.#stmts.dropProgress.run(id);
          if (this.#stmts.setState.run('retired', id, 'searched').changes !== 1)
            throw new StorageError('indexKeys.retire', 'failed');
        })
        .immediate();
    });
  }

  progress(id: string): Promise<IndexRotationProgress | undefined> {
    return runSqlite('indexKeys.progress', () => {
      const row = this.#stmts.progress.get(id);
      return row === undefined ? undefined : { type: row.type, after: row.after_id, done: row.done };
    });
  }

  saveProgress(id: string, progress: IndexRotationProgress): Promise<void> {
    return runSqlite('indexKeys.saveProgress', () => {
      this.#stmts.saveProgress.run(id, progress.type, progress.after, progress.done);
    });
  }

  replaceIndex(type: string, id: string, version: number, index: readonly IndexEntry[]): Promise<boolean> {
    return runSqlite('indexKeys.replaceIndex', () =>
      this.#db
        .transaction(() => {
          // Under BEGIN IMMEDIATE: no commit can move the version between this check and the writes.
          const current = this.#stmts.currentVersion.get(type, id);
          if (current?.version !== version || current.deleted !== 0) return false;
          this.#stmts.clearIndex.run(type, id);
          for (const entry of index) this.#stmts.insertIndex.run(type, entry.param, entry.token, id);
          return true;
        })
        .immediate(),
    );
  }

  idsWithTokenPrefix(type: string, param: string, prefix: string, after: string, limit: number): Promise<string[]> {
    return runSqlite('indexKeys.idsWithTokenPrefix', () => {
      assertLimit('indexKeys.idsWithTokenPrefix', limit);
      return this.#stmts.withPrefix.all(type, param, prefix, `${prefix}\uffff`, after, limit).map((row) => row.id);
    });
  }

  countCurrent(type: string): Promise<number> {
    return runSqlite('indexKeys.countCurrent', () => this.#stmts.count.get(type)?.n ?? 0);
  }

  rewrap(
    id: string,
    expected: { kekId: string; wrapped: Uint8Array },
    next: { kekId: string; wrapped: Uint8Array },
  ): Promise<boolean> {
    return runSqlite(
      'indexKeys.rewrap',
      () =>
        this.#stmts.rewrap.run(next.kekId, Buffer.from(next.wrapped), id, expected.kekId, Buffer.from(expected.wrapped))
          .changes === 1,
    );
  }

  #inState(operation: string, state: StoredIndexKey['state']): StoredIndexKey {
    const row = this.#stmts.inState.get(state);
    if (row === undefined) throw new StorageError(operation, 'failed');
    return toIndexKey(row);
  }
}
