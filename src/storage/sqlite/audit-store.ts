import type { Statement } from 'better-sqlite3';
import type { AuditEventFilter, AuditEventSearch, AuditPosition, AuditRow, AuditStore } from '../ports.js';
import { toAuditRow, type AuditDbRow } from '../rows.js';
import { assertLimit } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { SqliteAuditQuery } from './audit-query.js';
import { startBackgroundAppender, type BackgroundAppender } from './background-appender.js';
import { runSqlite } from './errors.js';

const auditColumns = 'writer_id, seq, time, kind, payload, prev_hash, hash';

/** Statements prepared once per adapter instance, on first use. */
interface AuditStatements {
  readonly insert: Statement<[string, number, string, string, string, string, string]>;
  readonly readWriter: Statement<[string, number, number], AuditDbRow>;
  readonly readAll: Statement<[number, number], AuditDbRow>;
  readonly writers: Statement<[], { writer_id: string; count: number; max_seq: number }>;
}

function prepareStatements(db: SqliteConnection): AuditStatements {
  return {
    // A plain INSERT: a duplicate (writer_id, seq) must fail, never be ignored.
    insert: db.prepare(`INSERT INTO audit_log (${auditColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    readWriter: db.prepare(`SELECT ${auditColumns} FROM audit_log
      WHERE writer_id = ? AND seq > ? ORDER BY writer_id, seq LIMIT ?`),
    readAll: db.prepare(`SELECT ${auditColumns} FROM audit_log
      WHERE seq > ? ORDER BY writer_id, seq LIMIT ?`),
    writers: db.prepare(`SELECT writer_id, count(*) AS count, max(seq) AS max_seq FROM audit_log
      GROUP BY writer_id ORDER BY writer_id`),
  };
}

/** The SQLite audit store: append-only rows of per-writer hash chains. */
export class SqliteAuditStore implements AuditStore, AuditEventSearch {
  readonly #db: SqliteConnection;
  #statements: AuditStatements | undefined;
  readonly #append: (rows: readonly AuditRow[]) => void;
  readonly #file: string;
  readonly #busyTimeoutMs: number;
  #background: BackgroundAppender | undefined;
  #query: SqliteAuditQuery | undefined;

  /** `db` and `file` are the audit file's (connection.ts). A file appends through a worker thread (append-worker.ts); `:memory:` in-thread. */
  constructor(db: SqliteConnection, file: string, busyTimeoutMs: number) {
    this.#db = db;
    this.#file = file;
    this.#busyTimeoutMs = busyTimeoutMs;
    // One transaction per batch: the group commit is durable all at once or not at all.
    const tx = db.transaction((rows: readonly AuditRow[]) => {
      const insert = this.#stmts.insert;
      for (const r of rows) insert.run(r.writerId, r.seq, r.time, r.kind, r.payload, r.prevHash, r.hash);
    });
    this.#append = (rows) => {
      tx.immediate(rows);
    };
  }

  get #stmts(): AuditStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  append(rows: readonly AuditRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (this.#file === ':memory:')
      return runSqlite('audit.append', () => {
        this.#append(rows);
      });
    // Started on first use: the worker prepares its statement, so the table must exist (after migrate).
    this.#background ??= startBackgroundAppender(this.#file, this.#busyTimeoutMs);
    return this.#background.append(rows);
  }

  /** Stops the append worker after the batches already sent. */
  async close(): Promise<void> {
    await this.#background?.close();
  }

  read(options: { writerId?: string; afterSeq?: number; limit: number }): Promise<AuditRow[]> {
    return runSqlite('audit.read', () => {
      assertLimit('audit.read', options.limit);
      const afterSeq = options.afterSeq ?? 0;
      const rows =
        options.writerId === undefined
          ? this.#stmts.readAll.all(afterSeq, options.limit)
          : this.#stmts.readWriter.all(options.writerId, afterSeq, options.limit);
      return rows.map(toAuditRow);
    });
  }

  /** Read-only event search for the audit API (audit-query.ts); reads on this thread while the worker appends. */
  search(query: AuditEventFilter & { after?: AuditPosition; limit: number }): Promise<AuditRow[]> {
    this.#query ??= new SqliteAuditQuery(this.#db);
    return this.#query.search(query);
  }

  writers(): Promise<{ writerId: string; count: number; maxSeq: number }[]> {
    return runSqlite('audit.writers', () =>
      this.#stmts.writers.all().map((row) => ({
        writerId: row.writer_id,
        count: row.count,
        maxSeq: row.max_seq,
      })),
    );
  }
}
