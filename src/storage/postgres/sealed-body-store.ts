import type { Pool } from 'pg';
import type { ScannedBody, SealedBodyStore, VersionRef } from '../ports.js';
import { toBytes } from '../rows.js';
import { assertLimit } from '../validate.js';
import { guardPg } from './errors.js';
import { withTransaction } from './pool.js';

interface ScanRow {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly body: Buffer | null;
}

// A skipped body is not sent (CASE); the row comparison walks the primary key (COLLATE "C", as SQLite's BINARY).
const scanSelect = `SELECT type, id, version,
  CASE WHEN body IS NULL OR (length($1::bytea) > 0 AND substring(body from 1 for length($1::bytea)) = $1::bytea) THEN NULL ELSE body END AS body
  FROM resource_versions`;

const sql = {
  scanFirst: `${scanSelect} ORDER BY type, id, version LIMIT $2`,
  scanAfter: `${scanSelect} WHERE (type, id, version) > ($3, $4, $5) ORDER BY type, id, version LIMIT $2`,
  replace: 'UPDATE resource_versions SET body = $1 WHERE type = $2 AND id = $3 AND version = $4 AND body = $5',
  count: `SELECT encode(substring(body from $2 for $3), 'hex') AS slice, count(*)::int AS n FROM resource_versions
    WHERE body IS NOT NULL AND substring(body from 1 for length($1::bytea)) = $1::bytea GROUP BY slice`,
  total: 'SELECT count(*)::int AS n FROM resource_versions WHERE body IS NOT NULL',
} as const;

/** The PostgreSQL view of sealed bodies for data-key rotation (ports.ts SealedBodyStore). */
export class PostgresSealedBodyStore implements SealedBodyStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async scan(options: { after?: VersionRef; skipPrefix?: Uint8Array; limit: number }): Promise<ScannedBody[]> {
    const { after, limit } = options;
    const prefix = Buffer.from(options.skipPrefix ?? []);
    return guardPg('sealedBodies.scan', async () => {
      assertLimit('sealedBodies.scan', limit);
      const result =
        after === undefined
          ? await this.#pool.query<ScanRow>(sql.scanFirst, [prefix, limit])
          : await this.#pool.query<ScanRow>(sql.scanAfter, [prefix, limit, after.type, after.id, after.version]);
      return result.rows.map((row) => ({ type: row.type, id: row.id, version: row.version, body: toBytes(row.body) }));
    });
  }

  async replace(ref: VersionRef, expected: Uint8Array, body: Uint8Array): Promise<boolean> {
    return guardPg('sealedBodies.replace', async () => {
      const result = await this.#pool.query(sql.replace, [
        Buffer.from(body),
        ref.type,
        ref.id,
        ref.version,
        Buffer.from(expected),
      ]);
      return result.rowCount === 1;
    });
  }

  async replaceAll(items: readonly { ref: VersionRef; expected: Uint8Array; body: Uint8Array }[]): Promise<boolean[]> {
    return guardPg('sealedBodies.replaceAll', () =>
      withTransaction(this.#pool, async (client) => {
        const results: boolean[] = [];
        for (const { ref, expected, body } of items) {
          const result = await client.query(sql.replace, [
            Buffer.from(body),
            ref.type,
            ref.id,
            ref.version,
            Buffer.from(expected),
          ]);
          results.push(result.rowCount === 1);
        }
        return results;
      }),
    );
  }

  async count(options: {
    prefix: Uint8Array;
    offset: number;
    length: number;
  }): Promise<{ total: number; bySlice: Map<string, number> }> {
    return guardPg('sealedBodies.count', async () => {
      // substring is 1-based.
      const rows = (
        await this.#pool.query<{ slice: string; n: number }>(sql.count, [
          Buffer.from(options.prefix),
          options.offset + 1,
          options.length,
        ])
      ).rows;
      const total = (await this.#pool.query<{ n: number }>(sql.total)).rows[0]?.n ?? 0;
      return { total, bySlice: new Map(rows.map((row) => [row.slice, row.n])) };
    });
  }
}
