import type { Pool, PoolClient } from 'pg';
import type { CommitResult, ResourceStore, SearchQuery, StoredVersion, VersionWrite } from '../ports.js';
import { toBuffer, toStoredVersion, type VersionRow } from '../rows.js';
import { assertLimit, assertValidWrite } from '../validate.js';
import { guardPg, isPgUniqueViolation } from './errors.js';
import { withTransaction } from './pool.js';
import { buildPostgresSearch } from './search.js';

const versionColumns = 'type, id, version, last_updated, deleted, body';

const sql = {
  readCurrent: `SELECT v.type, v.id, v.version, v.last_updated, v.deleted, v.body
    FROM resources r JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version
    WHERE r.type = $1 AND r.id = $2`,
  readVersion: `SELECT ${versionColumns} FROM resource_versions WHERE type = $1 AND id = $2 AND version = $3`,
  history: `SELECT ${versionColumns} FROM resource_versions
    WHERE type = $1 AND id = $2 AND version < $3::bigint ORDER BY version DESC LIMIT $4`,
  // ON CONFLICT DO NOTHING: of two concurrent creates, the second waits for
  // the first and then inserts nothing, so rowCount 0 means "conflict".
  create: `INSERT INTO resources (type, id, version, deleted, last_updated) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (type, id) DO NOTHING`,
  // The WHERE on version is re-checked after a concurrent writer commits
  // (READ COMMITTED re-evaluation), so exactly one stale update matches.
  update: `UPDATE resources SET version = $3, deleted = $4, last_updated = $5
    WHERE type = $1 AND id = $2 AND version = $6`,
  insertVersion: `INSERT INTO resource_versions (type, id, version, last_updated, deleted, body)
    VALUES ($1, $2, $3, $4, $5, $6)`,
  clearIndex: 'DELETE FROM search_index WHERE type = $1 AND id = $2',
  insertIndex: `INSERT INTO search_index (type, param, token, id)
    SELECT $1, u.param, u.token, $2 FROM unnest($3::text[], $4::text[]) AS u(param, token)
    ON CONFLICT DO NOTHING`,
  listAll: `SELECT id FROM resources WHERE type = $1 AND NOT deleted AND id > $2 ORDER BY id LIMIT $3`,
} as const;

/** Writes the version and the index once the conditional pointer move succeeded. */
async function writeVersion(client: PoolClient, write: VersionWrite): Promise<void> {
  await client.query(sql.insertVersion, [
    write.type,
    write.id,
    write.version,
    write.lastUpdated,
    write.deleted,
    toBuffer(write.body),
  ]);
  await client.query(sql.clearIndex, [write.type, write.id]);
  // Index rows exist only for the current, non-deleted version.
  if (!write.deleted && write.index.length > 0) {
    await client.query(sql.insertIndex, [
      write.type,
      write.id,
      write.index.map((e) => e.param),
      write.index.map((e) => e.token),
    ]);
  }
}

/** The PostgreSQL resource store; every statement is parameterized. */
export class PostgresResourceStore implements ResourceStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async readCurrent(type: string, id: string): Promise<StoredVersion | undefined> {
    return guardPg('resources.readCurrent', async () => {
      const result = await this.#pool.query<VersionRow>(sql.readCurrent, [type, id]);
      const row = result.rows[0];
      return row === undefined ? undefined : toStoredVersion(row);
    });
  }

  async readVersion(type: string, id: string, version: number): Promise<StoredVersion | undefined> {
    return guardPg('resources.readVersion', async () => {
      const result = await this.#pool.query<VersionRow>(sql.readVersion, [type, id, version]);
      const row = result.rows[0];
      return row === undefined ? undefined : toStoredVersion(row);
    });
  }

  async history(type: string, id: string, options: { before?: number; limit: number }): Promise<StoredVersion[]> {
    return guardPg('resources.history', async () => {
      assertLimit('resources.history', options.limit);
      const before = options.before ?? Number.MAX_SAFE_INTEGER;
      const result = await this.#pool.query<VersionRow>(sql.history, [type, id, before, options.limit]);
      return result.rows.map(toStoredVersion);
    });
  }

  async commit(write: VersionWrite): Promise<CommitResult> {
    return guardPg('resources.commit', async () => {
      assertValidWrite(write);
      try {
        return await withTransaction(this.#pool, async (client) => {
          const moved =
            write.expectedVersion === 0
              ? await client.query(sql.create, [write.type, write.id, write.version, write.deleted, write.lastUpdated])
              : await client.query(sql.update, [
                  write.type,
                  write.id,
                  write.version,
                  write.deleted,
                  write.lastUpdated,
                  write.expectedVersion,
                ]);
          // Nothing written yet, so committing the empty transaction is harmless.
          if (moved.rowCount !== 1) return 'conflict';
          await writeVersion(client, write);
          return 'committed';
        });
      } catch (error) {
        // A unique violation here means another writer won a race: answer, never throw.
        if (isPgUniqueViolation(error)) return 'conflict';
        throw error;
      }
    });
  }

  async search(query: SearchQuery): Promise<string[]> {
    return guardPg('resources.search', async () => {
      assertLimit('resources.search', query.limit);
      const after = query.after ?? '';
      if (query.clauses.length === 0) {
        const all = await this.#pool.query<{ id: string }>(sql.listAll, [query.type, after, query.limit]);
        return all.rows.map((row) => row.id);
      }
      if (query.clauses.some((clause) => clause.tokens.length === 0)) return [];
      const built = buildPostgresSearch(query, after);
      const result = await this.#pool.query<{ id: string }>(built.sql, built.params);
      return result.rows.map((row) => row.id);
    });
  }
}
