import type { Pool } from 'pg';
import { auditFilterNames, auditFilterPaths } from '../audit-fields.js';
import type { AuditEventFilter, AuditPosition, AuditRow } from '../ports.js';
import { toAuditRow, type AuditDbRow } from '../rows.js';
import { assertLimit } from '../validate.js';
import { guardPg } from './errors.js';

const columns = 'writer_id, seq, time, kind, payload, prev_hash, hash';

/** The JSON expression of a filter, spelled exactly as the `audit_query_indexes` migration spells it. */
function expression(path: readonly string[]): string {
  return `((payload::jsonb) #>> '{${path.join(',')}}')`;
}

/** SQL text and parameters for one search; the text depends only on which filters are present. */
function build(query: AuditEventFilter & { after?: AuditPosition; limit: number }): { sql: string; params: string[] } {
  const where = ["kind = 'event'"];
  const params: string[] = [];
  const next = (value: string | number): string => {
    params.push(String(value));
    return `$${params.length}`;
  };
  if (query.since !== undefined) where.push(`(time COLLATE "C") >= ${next(query.since)}`);
  if (query.until !== undefined) where.push(`(time COLLATE "C") < ${next(query.until)}`);
  for (const name of auditFilterNames) {
    const value = query[name];
    // #>> yields text: a numeric filter (status) compares as its JSON text.
    if (value !== undefined) where.push(`${expression(auditFilterPaths[name])} = ${next(value)}`);
  }
  if (query.after !== undefined) {
    const { time, writerId, seq } = query.after;
    where.push(`((time COLLATE "C"), writer_id, seq) < (${next(time)}, ${next(writerId)}, ${next(seq)}::bigint)`);
  }
  const limit = next(query.limit);
  return {
    sql: `SELECT ${columns} FROM audit_log WHERE ${where.join(' AND ')}
      ORDER BY (time COLLATE "C") DESC, writer_id DESC, seq DESC LIMIT ${limit}`,
    params,
  };
}

/** Read-only search of the audit log's events (docs/audit.md "Querying"), on the shared pool. */
export class PostgresAuditQuery {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async search(query: AuditEventFilter & { after?: AuditPosition; limit: number }): Promise<AuditRow[]> {
    return guardPg('audit.search', async () => {
      assertLimit('audit.search', query.limit);
      const { sql, params } = build(query);
      const result = await this.#pool.query<AuditDbRow>(sql, params);
      return result.rows.map(toAuditRow);
    });
  }
}
