import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { isPgUniqueViolation } from './errors.js';
import type { PostgresTlsConfig } from '../../config/client-tls.js';
import { postgresTlsOptions } from '../client-tls.js';
import { parsePostgresUrl } from './url.js';

/** SQLSTATE 42P06: duplicate_schema (two processes creating it at once). */
const duplicateSchema = '42P06';

async function ensureSchema(pool: Pool, schema: string): Promise<void> {
  try {
    // The name matched /^[a-z_][a-z0-9_]{0,62}$/, so quoting it is enough.
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (!isPgUniqueViolation(error) && code !== duplicateSchema) throw error;
  }
}

/**
 * A pg Pool for the URL. With `?schema=NAME`, the schema is created if
 * missing and every pooled connection starts with search_path=NAME, so
 * unqualified table names resolve there (tests get one schema per run).
 * With `tls`, every connection is TLS with the server's certificate verified
 * (docs/database-tls.md); the URL's own ssl parameters were refused in config.
 */
export async function createPostgresPool(url: string, tls: PostgresTlsConfig | null = null): Promise<Pool> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: 10_000,
    ...(tls !== null && { ssl: postgresTlsOptions(tls) }),
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its server emits 'error' on the pool; pg
  // discards that client and the next query reports the failure. Without a
  // listener the event would crash the process.
  pool.on('error', () => undefined);
  if (schema !== undefined) {
    try {
      await ensureSchema(pool, schema);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }
  return pool;
}

/**
 * Runs one call to PostgreSQL under a circuit breaker: `Breaker.run` of
 * src/lib/circuit-breaker.ts, which rejects at once while open and
 * gives up on a call slower than its timeout (docs/circuit-breakers.md).
 */
export type QueryGuard = <T>(call: () => Promise<T>) => Promise<T>;

/**
 * SQLSTATE classes that describe the request, not the server's health
 * (PostgreSQL manual, Appendix A): cardinality (21), data exceptions (22),
 * integrity violations (23, e.g. the unique violation of a racing create),
 * invalid transaction state (25), transaction rollback (40: serialization
 * failures, deadlocks), syntax or access rules (42), check option (44).
 */
const callerErrorClasses = new Set(['21', '22', '23', '25', '40', '42', '44']);

/** True for driver errors that must not count against the `postgres` breaker. */
export function isPgCallerError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && callerErrorClasses.has(code.slice(0, 2));
}

/** Marks a guarded pool, so `withTransaction` guards each statement of the transaction too. */
const guardOfPool = Symbol('caduceus.queryGuard');

type Method = (...args: unknown[]) => unknown;

function forward(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property, target);
  return typeof value === 'function' ? (value as Method).bind(target) : value;
}

/** Connects under the guard; a client that arrives after the guard gave up goes straight back to the pool. */
async function guardedConnect(pool: Pool, guard: QueryGuard): Promise<PoolClient> {
  let connecting: Promise<PoolClient> | undefined;
  try {
    return await guard(() => (connecting = pool.connect()));
  } catch (error) {
    void connecting?.then(
      (client) => {
        client.release();
      },
      () => undefined,
    );
    throw error;
  }
}

/**
 * The pool as the stores see it: every `query` and `connect` runs under the
 * guard. A Proxy rather than a subclass because the stores take pg's `Pool`
 * type and pg-pool's `query` overloads call `this.connect` internally; the
 * underlying pool stays untouched for migrations and `end`.
 */
export function guardPool(pool: Pool, guard: QueryGuard): Pool {
  const query = (...args: unknown[]): Promise<unknown> =>
    guard(() => (pool.query as Method).apply(pool, args) as Promise<unknown>);
  const connect = (): Promise<PoolClient> => guardedConnect(pool, guard);
  return new Proxy(pool, {
    get(target, property) {
      if (property === 'query') return query;
      if (property === 'connect') return connect;
      if (property === guardOfPool) return guard;
      return forward(target, property);
    },
  });
}

/** A transaction's client whose statements run under the guard, and whether one is still running after the guard gave up. */
function guardClient(client: PoolClient, guard: QueryGuard): { client: PoolClient; abandoned(): boolean } {
  let running = 0;
  const query = (...args: unknown[]): Promise<unknown> =>
    guard(() => {
      running += 1;
      return (client.query as (...a: unknown[]) => Promise<unknown>).apply(client, args).finally(() => {
        running -= 1;
      });
    });
  const proxy = new Proxy(client, {
    get: (target, property) => (property === 'query' ? query : forward(target, property)),
  });
  return { client: proxy, abandoned: () => running > 0 };
}

/**
 * Runs work in one transaction on one pooled client: COMMIT on success,
 * ROLLBACK on any throw. On a guarded pool each statement runs under the
 * guard (one breaker call per statement, as for single queries).
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const guard = (pool as Pool & { [guardOfPool]?: QueryGuard })[guardOfPool];
  const raw = await pool.connect();
  const guarded = guard === undefined ? undefined : guardClient(raw, guard);
  const client = guarded?.client ?? raw;
  let broken: Error | undefined;
  // pg-pool removes its own 'error' listener while a client is checked out, and pg emits 'error' on a client
  // whose server goes away between two statements (57P01 on a fast shutdown, ECONNRESET): with no listener
  // that event ends the process. The loss is kept so the client is discarded, and the next statement fails.
  const onLost = (error: Error): void => {
    broken = error;
  };
  raw.on('error', onLost);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (guarded?.abandoned() === true) {
      // The breaker gave up on a statement that still runs (a lock wait, a stalled server): a ROLLBACK would
      // queue behind it and keep the caller waiting. Dropping the connection makes the server abort the
      // transaction instead, and COMMIT was never sent.
      broken = new Error('statement abandoned by the circuit breaker');
    } else {
      try {
        await raw.query('ROLLBACK');
      } catch (rollbackError) {
        // A connection that cannot roll back must not go back to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed');
      }
    }
    throw error;
  } finally {
    raw.removeListener('error', onLost);
    raw.release(broken);
  }
}
