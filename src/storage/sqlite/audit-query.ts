import type { Statement } from 'better-sqlite3';
import { auditFilterNames, auditFilterPaths } from '../audit-fields.js';
import type { AuditEventFilter, AuditPosition, AuditRow } from '../ports.js';
import { toAuditRow, type AuditDbRow } from '../rows.js';
import { assertLimit } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';

const columns = 'writer_id, seq, time, kind, payload, prev_hash, hash';

/**
 * The JSON expression of a filter, spelled exactly as the indexes of the
 * `audit_query_indexes` migration spell it (SQLite uses an expression index
 * only for an identical expression).
 */
function expression(path: readonly string[]): string {
  return `json_extract(payload, '$.${path.join('.')}')`;
}

/** SQL text and parameters for one search; the text depends only on which filters are present. */
function build(query: AuditEventFilter & { after?: AuditPosition; limit: number }): {
  sql: string;
  params: (string | number)[];
} {
  const where = ["kind = 'event'"];
  const params: (string | number)[] = [];
  if (query.since !== undefined) {
    where.push('time >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('time < ?');
    params.push(query.until);
  }
  for (const name of auditFilterNames) {
    const value = query[name];
    if (value === undefined) continue;
    where.push(`${expression(auditFilterPaths[name])} = ?`);
    params.push(value);
  }
  if (query.after !== undefined) {
    // Keyset paging on the index order (row values: SQLite 3.15+).
    where.push('(time, writer_id, seq) < (?, ?, ?)');
    params.push(query.after.time, query.after.writerId, query.after.seq);
  }
  params.push(query.limit);
  return {
    sql: `SELECT ${columns} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY time DESC, writer_id DESC, seq DESC LIMIT ?`,
    params,
  };
}

/**
 * Read-only search of the audit file's events (docs/audit.md "Querying").
 * Statements are prepared once per distinct filter combination (at most
 * 2^13 texts, all built from constants) and kept for the connection's life.
 */
export class SqliteAuditQuery {
  readonly #db: SqliteConnection;
  readonly #statements = new Map<string, Statement<(string | number)[], AuditDbRow>>();

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  search(query: AuditEventFilter & { after?: AuditPosition; limit: number }): Promise<AuditRow[]> {
    return runSqlite('audit.search', () => {
      assertLimit('audit.search', query.limit);
      const { sql, params } = build(query);
      let statement = this.#statements.get(sql);
      if (statement === undefined) {
        statement = this.#db.prepare<(string | number)[], AuditDbRow>(sql);
        this.#statements.set(sql, statement);
      }
      return statement.all(...params).map(toAuditRow);
    });
  }
}
