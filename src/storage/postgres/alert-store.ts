import type { Pool } from 'pg';
import type { Alert } from '../alerts.js';
import { fromAlertDbRow, toAlertDbRow, type AlertDbRow } from '../alert-rows.js';
import type { AlertFilter, AlertStore } from '../ports.js';
import { assertLimit } from '../validate.js';
import { guardPg } from './errors.js';

type ListQuery = AlertFilter & { after?: { time: string; id: string }; limit: number };

function build(query: ListQuery): { sql: string; params: string[] } {
  const where: string[] = [];
  const params: string[] = [];
  const next = (value: string | number): string => {
    params.push(String(value));
    return `$${params.length}`;
  };
  if (query.kind !== undefined) where.push(`kind = ${next(query.kind)}`);
  if (query.severity !== undefined) where.push(`severity = ${next(query.severity)}`);
  if (query.since !== undefined) where.push(`time >= ${next(query.since)}`);
  if (query.until !== undefined) where.push(`time < ${next(query.until)}`);
  if (query.after !== undefined) where.push(`(time, id) < (${next(query.after.time)}, ${next(query.after.id)})`);
  const limit = next(query.limit);
  const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  return { sql: `SELECT body FROM alerts ${filter} ORDER BY time DESC, id DESC LIMIT ${limit}`, params };
}

/** Alerts in the same PostgreSQL database as the audit log. */
export class PostgresAlertStore implements AlertStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async append(alert: Alert): Promise<void> {
    await guardPg('alerts.append', async () => {
      const row = toAlertDbRow('alerts.append', alert);
      await this.#pool.query(
        'INSERT INTO alerts (id, time, kind, severity, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING',
        [row.id, row.time, row.kind, row.severity, row.body],
      );
    });
  }

  async list(query: ListQuery): Promise<Alert[]> {
    return guardPg('alerts.list', async () => {
      assertLimit('alerts.list', query.limit);
      const { sql, params } = build(query);
      const result = await this.#pool.query<Pick<AlertDbRow, 'body'>>(sql, params);
      return result.rows.map(fromAlertDbRow);
    });
  }
}
