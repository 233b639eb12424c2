import type { Statement } from 'better-sqlite3';
import type { CommitResult, ResourceStore, SearchQuery, StoredVersion, VersionWrite } from '../ports.js';
import { toBuffer, toStoredVersion, type VersionRow } from '../rows.js';
import { assertLimit, assertValidWrite } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';
import type { SqliteReadCache } from './read-cache.js';
import { buildSqliteSearch, estimateRows, estimateSql, orderBySelectivity } from './search.js';

const versionColumns = 'type, id, version, last_updated, deleted, body';

/** Statements prepared once per adapter instance, on first use (the tables exist only after migrate). */
interface ResourceStatements {
  readonly currentVersion: Statement<[string, string], { version: number }>;
  readonly readCurrent: Statement<[string, string], VersionRow>;
  readonly readVersion: Statement<[string, string, number], VersionRow>;
  readonly history: Statement<[string, string, number, number], VersionRow>;
  readonly insertResource: Statement<[string, string, number, number, string]>;
  readonly updateResource: Statement<[number, number, string, string, string]>;
  readonly insertVersion: Statement<[string, string, number, string, number, Buffer | null]>;
  readonly clearIndex: Statement<[string, string]>;
  readonly insertIndex: Statement<[string, string, string, string]>;
  readonly listAll: Statement<[string, string, number], { id: string }>;
}

function prepareStatements(db: SqliteConnection): ResourceStatements {
  return {
    currentVersion: db.prepare('SELECT version FROM resources WHERE type = ? AND id = ?'),
    readCurrent: db.prepare(`SELECT ${versionColumns
      .split(', ')
      .map((c) => `v.${c}`)
      .join(', ')}
      FROM resources r JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
      WHERE r.type = ? AND r.id = ?`),
    readVersion: db.prepare(
      `SELECT ${versionColumns} FROM resource_versions WHERE type = ? AND id = ? AND version = ?`,
    ),
    history: db.prepare(`SELECT ${versionColumns} FROM resource_versions
      WHERE type = ? AND id = ? AND version < ? ORDER BY version DESC LIMIT ?`),
    insertResource: db.prepare(
      'INSERT INTO resources (type, id, version, deleted, last_updated) VALUES (?, ?, ?, ?, ?)',
    ),
    updateResource: db.prepare(
      'UPDATE resources SET version = ?, deleted = ?, last_updated = ? WHERE type = ? AND id = ?',
    ),
    insertVersion: db.prepare(`INSERT INTO resource_versions (type, id, version, last_updated, deleted, body)
      VALUES (?, ?, ?, ?, ?, ?)`),
    clearIndex: db.prepare('DELETE FROM search_index WHERE type = ? AND id = ?'),
    insertIndex: db.prepare(`INSERT INTO search_index (type, param, token, id) VALUES (?, ?, ?, ?)
      ON CONFLICT DO NOTHING`),
    listAll: db.prepare(`SELECT id FROM resources WHERE type = ? AND deleted = 0 AND id > ?
      ORDER BY id LIMIT ?`),
  };
}

/** The SQLite resource store: versions, the current pointer and the search index in one file. */
export class SqliteResourceStore implements ResourceStore {
  readonly #db: SqliteConnection;
  #statements: ResourceStatements | undefined;
  /** Search statements by shape (driver tokens, probe count): a few dozen at most, bounded by the query limits. */
  readonly #searches = new Map<string, Statement<unknown[], { id: string }>>();
  #estimate: Statement<[string, string, string], { n: number; last: string | null }> | undefined;
  readonly #commit: (write: VersionWrite) => CommitResult;
  readonly #cache: SqliteReadCache;

  /** `cache` is shared with the connection's other stores; every commit here invalidates it. */
  constructor(db: SqliteConnection, cache: SqliteReadCache) {
    this.#db = db;
    this.#cache = cache;
    // BEGIN IMMEDIATE takes the write lock before the version check, so the
    // check and the writes are atomic even against another process.
    const tx = db.transaction((write: VersionWrite) => this.#commitInTransaction(write));
    this.#commit = (write) => tx.immediate(write);
  }

  get #stmts(): ResourceStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  /** Every read's first step: remembered while the file is unchanged (read-cache.ts). */
  readCurrent(type: string, id: string): Promise<StoredVersion | undefined> {
    return runSqlite('resources.readCurrent', () =>
      this.#cache.fresh().read(
        `resource:${type}/${id}`,
        () => {
          const row = this.#stmts.readCurrent.get(type, id);
          return row === undefined ? undefined : toStoredVersion(row);
        },
        (stored) => 64 + (stored?.body?.length ?? 0),
      ),
    );
  }

  readVersion(type: string, id: string, version: number): Promise<StoredVersion | undefined> {
    return runSqlite('resources.readVersion', () => {
      const row = this.#stmts.readVersion.get(type, id, version);
      return row === undefined ? undefined : toStoredVersion(row);
    });
  }

  history(type: string, id: string, options: { before?: number; limit: number }): Promise<StoredVersion[]> {
    return runSqlite('resources.history', () => {
      assertLimit('resources.history', options.limit);
      const before = options.before ?? Number.MAX_SAFE_INTEGER;
      return this.#stmts.history.all(type, id, before, options.limit).map(toStoredVersion);
    });
  }

  commit(write: VersionWrite): Promise<CommitResult> {
    return runSqlite('resources.commit', () => {
      assertValidWrite(write);
      this.#cache.invalidate();
      return this.#commit(write);
    });
  }

  search(query: SearchQuery): Promise<string[]> {
    return runSqlite('resources.search', () => {
      assertLimit('resources.search', query.limit);
      const after = query.after ?? '';
      if (query.clauses.length === 0) {
        return this.#stmts.listAll.all(query.type, after, query.limit).map((row) => row.id);
      }
      if (query.clauses.some((clause) => clause.tokens.length === 0)) return [];
      const estimate = (this.#estimate ??= this.#db.prepare<
        [string, string, string],
        { n: number; last: string | null }
      >(estimateSql));
      const clauses = orderBySelectivity(query.type, query.clauses, (type, param, token) =>
        estimateRows(estimate.get(type, param, token)),
      );
      const built = buildSqliteSearch(query, clauses, after);
      let statement = this.#searches.get(built.shape);
      if (statement === undefined) {
        statement = this.#db.prepare<unknown[], { id: string }>(built.sql);
        this.#searches.set(built.shape, statement);
      }
      return statement.all(...built.params).map((row) => row.id);
    });
  }

  #commitInTransaction(write: VersionWrite): CommitResult {
    const s = this.#stmts;
    const current = s.currentVersion.get(write.type, write.id);
    const deleted = write.deleted ? 1 : 0;
    if (write.expectedVersion === 0) {
      if (current !== undefined) return 'conflict';
      s.insertResource.run(write.type, write.id, write.version, deleted, write.lastUpdated);
    } else {
      if (current?.version !== write.expectedVersion) return 'conflict';
      s.updateResource.run(write.version, deleted, write.lastUpdated, write.type, write.id);
    }
    s.insertVersion.run(write.type, write.id, write.version, write.lastUpdated, deleted, toBuffer(write.body));
    s.clearIndex.run(write.type, write.id);
    // Index rows exist only for the current, non-deleted version.
    if (!write.deleted) {
      for (const entry of write.index) s.insertIndex.run(write.type, entry.param, entry.token, write.id);
    }
    return 'committed';
  }
}
