import type { Pool } from 'pg';
import type { Database } from '../ports.js';
import { PostgresAuditStore } from './audit-store.js';
import { guardPg } from './errors.js';
import { PostgresKeyValueStore } from './kv-store.js';
import { migratePostgres } from './migrate.js';
import { postgresMigrations } from './migrations.js';
import { createPostgresPool } from './pool.js';
import { PostgresResourceStore } from './resource-store.js';

/** The at-scale adapter (DESIGN.md "Ports and adapters"): many stateless processes share one PostgreSQL. */
class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  readonly resources: PostgresResourceStore;
  readonly kv: PostgresKeyValueStore;
  readonly audit: PostgresAuditStore;
  readonly #pool: Pool;
  #closing: Promise<void> | undefined;

  constructor(pool: Pool) {
    this.#pool = pool;
    this.resources = new PostgresResourceStore(pool);
    this.kv = new PostgresKeyValueStore(pool);
    this.audit = new PostgresAuditStore(pool);
  }

  async migrate(): Promise<number[]> {
    return guardPg('migrate', () => migratePostgres(this.#pool, postgresMigrations));
  }

  async ping(): Promise<void> {
    await guardPg('ping', () => this.#pool.query('SELECT 1'));
  }

  /** Ends the pool; a second call waits for the first instead of throwing. */
  async close(): Promise<void> {
    this.#closing ??= guardPg('close', () => this.#pool.end());
    await this.#closing;
  }
}

/** Opens a pool for a postgres:// URL (creating `?schema=` if named); does not migrate. */
export async function openPostgresDatabase(url: string): Promise<Database> {
  const pool = await guardPg('open', () => createPostgresPool(url));
  return new PostgresDatabase(pool);
}
