import type { Statement } from 'better-sqlite3';
import type { ScannedBody, SealedBodyStore, VersionRef } from '../ports.js';
import { toBytes } from '../rows.js';
import { assertLimit } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';
import type { SqliteReadCache } from './read-cache.js';

interface ScanRow {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly body: Uint8Array | null;
}

interface ScanParams {
  readonly prefix: Buffer;
  readonly skip: number;
  readonly limit: number;
  readonly type?: string;
  readonly id?: string;
  readonly version?: number;
}

interface Statements {
  readonly scanFirst: Statement<[ScanParams], ScanRow>;
  readonly scanAfter: Statement<[ScanParams], ScanRow>;
  readonly replace: Statement<[Buffer, string, string, number, Buffer]>;
  readonly count: Statement<[{ prefix: Buffer; start: number; length: number }], { slice: string; n: number }>;
  readonly total: Statement<[], { n: number }>;
}

// Rows in primary-key order; a skipped body is not even read out (CASE), and the row-value comparison walks the key.
const scanSelect = `SELECT type, id, version,
  CASE WHEN body IS NULL OR (@skip = 1 AND substr(body, 1, length(@prefix)) = @prefix) THEN NULL ELSE body END AS body
  FROM resource_versions`;

function prepare(db: SqliteConnection): Statements {
  return {
    scanFirst: db.prepare(`${scanSelect} ORDER BY type, id, version LIMIT @limit`),
    scanAfter: db.prepare(
      `${scanSelect} WHERE (type, id, version) > (@type, @id, @version) ORDER BY type, id, version LIMIT @limit`,
    ),
    replace: db.prepare('UPDATE resource_versions SET body = ? WHERE type = ? AND id = ? AND version = ? AND body = ?'),
    count: db.prepare(`SELECT hex(substr(body, @start, @length)) AS slice, count(*) AS n FROM resource_versions
      WHERE body IS NOT NULL AND substr(body, 1, length(@prefix)) = @prefix GROUP BY slice`),
    total: db.prepare('SELECT count(*) AS n FROM resource_versions WHERE body IS NOT NULL'),
  };
}

/** The SQLite view of sealed bodies for data-key rotation (ports.ts SealedBodyStore). */
export class SqliteSealedBodyStore implements SealedBodyStore {
  readonly #db: SqliteConnection;
  readonly #cache: SqliteReadCache;
  #statements: Statements | undefined;

  /** `cache` is the connection's read cache: a replaced body invalidates it like any commit. */
  constructor(db: SqliteConnection, cache: SqliteReadCache) {
    this.#db = db;
    this.#cache = cache;
  }

  get #stmts(): Statements {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  scan(options: { after?: VersionRef; skipPrefix?: Uint8Array; limit: number }): Promise<ScannedBody[]> {
    const { after, skipPrefix, limit } = options;
    const params: ScanParams = {
      prefix: Buffer.from(skipPrefix ?? []),
      skip: skipPrefix === undefined || skipPrefix.length === 0 ? 0 : 1,
      limit,
    };
    return runSqlite('sealedBodies.scan', () => {
      assertLimit('sealedBodies.scan', limit);
      const rows =
        after === undefined
          ? this.#stmts.scanFirst.all(params)
          : this.#stmts.scanAfter.all({ ...params, type: after.type, id: after.id, version: after.version });
      return rows.map((row) => ({ type: row.type, id: row.id, version: row.version, body: toBytes(row.body) }));
    });
  }

  replaceAll(items: readonly { ref: VersionRef; expected: Uint8Array; body: Uint8Array }[]): Promise<boolean[]> {
    return runSqlite('sealedBodies.replaceAll', () => {
      // BEGIN IMMEDIATE: one write lock and one fsync for the batch.
      const results = this.#db
        .transaction(() =>
          items.map(
            ({ ref, expected, body }) =>
              this.#stmts.replace.run(Buffer.from(body), ref.type, ref.id, ref.version, Buffer.from(expected))
                .changes === 1,
          ),
        )
        .immediate();
      if (results.some(Boolean)) this.#cache.invalidate();
      return results;
    });
  }

  replace(ref: VersionRef, expected: Uint8Array, body: Uint8Array): Promise<boolean> {
    return runSqlite('sealedBodies.replace', () => {
      const changed =
        this.#stmts.replace.run(Buffer.from(body), ref.type, ref.id, ref.version, Buffer.from(expected)).changes === 1;
      if (changed) this.#cache.invalidate();
      return changed;
    });
  }

  count(options: {
    prefix: Uint8Array;
    offset: number;
    length: number;
  }): Promise<{ total: number; bySlice: Map<string, number> }> {
    return runSqlite('sealedBodies.count', () => {
      // substr is 1-based.
      const rows = this.#stmts.count.all({
        prefix: Buffer.from(options.prefix),
        start: options.offset + 1,
        length: options.length,
      });
      const total = this.#stmts.total.get()?.n ?? 0;
      return { total, bySlice: new Map(rows.map((row) => [row.slice.toLowerCase(), row.n])) };
    });
  }
}
