import type { Pool } from 'pg';
import type { AuditEventFilter, AuditEventSearch, AuditPosition, AuditRow, AuditStore } from '../ports.js';
import { toAuditRow, type AuditDbRow } from '../rows.js';
import { assertLimit } from '../validate.js';
import { PostgresAuditQuery } from './audit-query.js';
import { guardPg } from './errors.js';

const auditColumns = 'writer_id, seq, time, kind, payload, prev_hash, hash';

const sql = {
  // One multi-row INSERT (one round trip, one implicit transaction: all or
  // none). A plain INSERT: a duplicate (writer_id, seq) must fail, never be ignored.
  append: `INSERT INTO audit_log (${auditColumns})
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
  readWriter: `SELECT ${auditColumns} FROM audit_log
    WHERE writer_id = $1 AND seq > $2 ORDER BY writer_id, seq LIMIT $3`,
  readAll: `SELECT ${auditColumns} FROM audit_log WHERE seq > $1 ORDER BY writer_id, seq LIMIT $2`,
  writers: `SELECT writer_id, count(*) AS count, max(seq) AS max_seq FROM audit_log
    GROUP BY writer_id ORDER BY writer_id`,
} as const;

/** The PostgreSQL audit store: append-only rows of per-writer hash chains. */
export class PostgresAuditStore implements AuditStore, AuditEventSearch {
  readonly #pool: Pool;
  readonly #query: PostgresAuditQuery;

  constructor(pool: Pool) {
    this.#pool = pool;
    this.#query = new PostgresAuditQuery(pool);
  }

  /** Read-only event search for the audit API (audit-query.ts). */
  search(query: AuditEventFilter & { after?: AuditPosition; limit: number }): Promise<AuditRow[]> {
    return this.#query.search(query);
  }

  async append(rows: readonly AuditRow[]): Promise<void> {
    await guardPg('audit.append', async () => {
      if (rows.length === 0) return;
      await this.#pool.query(sql.append, [
        rows.map((r) => r.writerId),
        rows.map((r) => r.seq),
        rows.map((r) => r.time),
        rows.map((r) => r.kind),
        rows.map((r) => r.payload),
        rows.map((r) => r.prevHash),
        rows.map((r) => r.hash),
      ]);
    });
  }

  async read(options: { writerId?: string; afterSeq?: number; limit: number }): Promise<AuditRow[]> {
    return guardPg('audit.read', async () => {
      assertLimit('audit.read', options.limit);
      const afterSeq = options.afterSeq ?? 0;
      const result =
        options.writerId === undefined
          ? await this.#pool.query<AuditDbRow>(sql.readAll, [afterSeq, options.limit])
          : await this.#pool.query<AuditDbRow>(sql.readWriter, [options.writerId, afterSeq, options.limit]);
      return result.rows.map(toAuditRow);
    });
  }

  async writers(): Promise<{ writerId: string; count: number; maxSeq: number }[]> {
    return guardPg('audit.writers', async () => {
      const result = await this.#pool.query<{ writer_id: string; count: string; max_seq: string }>(sql.writers);
      return result.rows.map((row) => ({
        writerId: row.writer_id,
        count: Number(row.count),
        maxSeq: Number(row.max_seq),
      }));
    });
  }
}
