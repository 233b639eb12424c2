import type { Pool } from 'pg';
import { PostgresUserStore } from './user-store.js';
import { PostgresCareTeamStore } from './care-team-store.js';
import type { Database } from '../ports.js';
import { PostgresAlertStore } from './alert-store.js';
import { PostgresAuditStore } from './audit-store.js';
import { PostgresDataKeyStore } from './data-key-store.js';
import { PostgresIndexKeyStore } from './index-key-store.js';
import { guardPg, toPgStorageError } from './errors.js';
import { postgresAddress, postgresConnectFailure } from '../open-failure.js';
import { PostgresKeyValueStore } from './kv-store.js';
import { PostgresMfaFactorStore } from './mfa-factor-store.js';
import { PostgresOAuthClientStore, PostgresOidcStateStore } from './oidc-store.js';
import { migratePostgres } from './migrate.js';
import { postgresMigrations } from './migrations.js';
import { createPostgresPool, guardPool, type QueryGuard } from './pool.js';
import type { PostgresTlsConfig } from '../../config/client-tls.js';
import { PostgresResourceStore } from './resource-store.js';
import { PostgresSealedBodyStore } from './sealed-body-store.js';

/** The at-scale adapter (DESIGN.md "Ports and adapters"): many stateless processes share one PostgreSQL. */
class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  readonly resources: PostgresResourceStore;
  readonly kv: PostgresKeyValueStore;
  readonly audit: PostgresAuditStore;
  readonly alerts: PostgresAlertStore;
  readonly dataKeys: PostgresDataKeyStore;
  readonly indexKeys: PostgresIndexKeyStore;
  readonly oidc: PostgresOidcStateStore;
  readonly clients: PostgresOAuthClientStore;
  readonly sealedBodies: PostgresSealedBodyStore;
  readonly users: PostgresUserStore;
  readonly mfaFactors: PostgresMfaFactorStore;
  readonly careTeam: PostgresCareTeamStore;
  readonly #pool: Pool;
  /** The pool without the breaker: migrations may wait on another process's lock far longer than a request would. */
  readonly #unguarded: Pool;
  /** host:port of the URL (no credentials), for the operator-facing failure when the first connection fails. */
  readonly #address: string;
  #closing: Promise<void> | undefined;

  /** `pool` is what the stores and `ping` use (guarded by a circuit breaker when one is given); `unguarded` the same pool without it. */
  constructor(pool: Pool, unguarded: Pool, address: string) {
    this.#pool = pool;
    this.#unguarded = unguarded;
    this.#address = address;
    this.resources = new PostgresResourceStore(pool);
    this.kv = new PostgresKeyValueStore(pool);
    this.audit = new PostgresAuditStore(pool);
    this.alerts = new PostgresAlertStore(pool);
    this.dataKeys = new PostgresDataKeyStore(pool);
    this.indexKeys = new PostgresIndexKeyStore(pool);
    this.oidc = new PostgresOidcStateStore(pool);
    this.clients = new PostgresOAuthClientStore(pool);
    this.sealedBodies = new PostgresSealedBodyStore(pool);
    this.users = new PostgresUserStore(pool);
    this.careTeam = new PostgresCareTeamStore(pool);
    this.mfaFactors = new PostgresMfaFactorStore(pool);
  }

  async migrate(): Promise<number[]> {
    // Migrating is every process's first query (pg connects lazily): an unreachable server or a refused login shows here.
    return guardPg('migrate', () => migratePostgres(this.#unguarded, postgresMigrations)).catch((error: unknown) =>
      Promise.reject(postgresConnectFailure(this.#address, toPgStorageError('migrate', error))),
    );
  }

  async ping(): Promise<void> {
    await guardPg('ping', () => this.#pool.query('SELECT 1'));
  }

  /** Ends the pool; a second call waits for the first instead of throwing. */
  async close(): Promise<void> {
    this.#closing ??= guardPg('close', () => this.#unguarded.end());
    await this.#closing;
  }
}

/**
 * Opens a pool for a postgres:// URL (creating `?schema=` if named); does not
 * migrate. With a guard (the `postgres` circuit breaker) every query and
 * transaction statement of the stores, and `ping`, runs under it.
 */
export async function openPostgresDatabase(
  url: string,
  guard?: QueryGuard,
  tls: PostgresTlsConfig | null = null,
): Promise<Database> {
  const address = postgresAddress(url);
  const pool = await guardPg('open', () => createPostgresPool(url, tls)).catch((error: unknown) =>
    Promise.reject(postgresConnectFailure(address, toPgStorageError('open', error))),
  );
  return guard === undefined
    ? new PostgresDatabase(pool, pool, address)
    : new PostgresDatabase(guardPool(pool, guard), pool, address);
}
