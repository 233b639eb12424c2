import type { Statement } from 'better-sqlite3';
import type { Alert } from '../alerts.js';
import { fromAlertDbRow, toAlertDbRow, type AlertDbRow } from '../alert-rows.js';
import type { AlertFilter, AlertStore } from '../ports.js';
import { assertLimit } from '../validate.js';
import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';

type ListQuery = AlertFilter & { after?: { time: string; id: string }; limit: number };

function build(query: ListQuery): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.kind !== undefined) {
    where.push('kind = ?');
    params.push(query.kind);
  }
  if (query.severity !== undefined) {
    where.push('severity = ?');
    params.push(query.severity);
  }
  if (query.since !== undefined) {
    where.push('time >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('time < ?');
    params.push(query.until);
  }
  if (query.after !== undefined) {
    where.push('(time, id) < (?, ?)');
    params.push(query.after.time, query.after.id);
  }
  params.push(query.limit);
  const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  return { sql: `SELECT body FROM alerts ${filter} ORDER BY time DESC, id DESC LIMIT ?`, params };
}

/**
 * Alerts in the audit file (connection.ts), beside the audit log they point
 * into. Appends run on the main thread: alerts are rare, unlike audit rows.
 */
export class SqliteAlertStore implements AlertStore {
  readonly #db: SqliteConnection;
  #insert: Statement<[string, string, string, string, string]> | undefined;
  readonly #lists = new Map<string, Statement<(string | number)[], Pick<AlertDbRow, 'body'>>>();

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  append(alert: Alert): Promise<void> {
    return runSqlite('alerts.append', () => {
      const row = toAlertDbRow('alerts.append', alert);
      this.#insert ??= this.#db.prepare(
        'INSERT INTO alerts (id, time, kind, severity, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      );
      this.#insert.run(row.id, row.time, row.kind, row.severity, row.body);
    });
  }

  list(query: ListQuery): Promise<Alert[]> {
    return runSqlite('alerts.list', () => {
      assertLimit('alerts.list', query.limit);
      const { sql, params } = build(query);
      let statement = this.#lists.get(sql);
      if (statement === undefined) {
        statement = this.#db.prepare<(string | number)[], Pick<AlertDbRow, 'body'>>(sql);
        this.#lists.set(sql, statement);
      }
      return statement.all(...params).map(fromAlertDbRow);
    });
  }
}
