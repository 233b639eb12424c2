import type { Logger } from 'pino';
import { createAuditLog } from './audit/writer.js';
import type { AuditLog } from './audit/event.js';
import type { Config } from './config/index.js';
import type { Breakers } from './lib/circuit-breaker.js';
import type { KeyManager, RotatingKeyManager } from './keys/ports.js';
import { openConfiguredKeys, type MasterKey } from './keys/local/index.js';
import { openDatabase } from './storage/open.js';
import type { Database } from './storage/ports.js';

/** The long-lived dependencies one process opens: database (migrated) and keys. */
export interface Runtime {
  readonly config: Config;
  readonly db: Database;
  readonly keys: RotatingKeyManager;
  /** Seals the keyrings (docs/key-management.md); the server opens its key wrapper with it. */
  readonly masterKey: MasterKey;
  /** Opens this process's own audit writer (its own hash chain); `keys` replaces the keyring it signs with (e.g. timed for metrics). */
  openAuditLog(options?: { readonly keys?: KeyManager }): Promise<AuditLog & { readonly writerId: string }>;
  close(): Promise<void>;
}

/**
 * Opens and migrates the database and opens the keyring; used by the server
 * and every CLI command. The server passes its breakers, so PostgreSQL runs
 * behind the `postgres` circuit breaker (docs/circuit-breakers.md).
 */
export async function openRuntime(
  config: Config,
  logger: Logger,
  options: { readonly breakers?: Breakers; readonly bulkLoad?: boolean } = {},
): Promise<Runtime> {
  const db = await openDatabase(config.databaseUrl, {
    postgresTls: config.databaseTls,
    ...(options.bulkLoad === true && { bulkLoad: true }),
    ...(options.breakers !== undefined && {
      circuit: {
        breakers: options.breakers,
        timeoutMs: config.breakers.databaseTimeoutMs,
        resetMs: config.breakers.resetMs,
      },
    }),
  });
  try {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ event: 'storage.migrated', versions: applied }, 'database migrated');
    const { keys, masterKey } = await openConfiguredKeys(config, logger);
    return {
      config,
      db,
      keys,
      masterKey,
      openAuditLog: (auditOptions = {}) =>
        createAuditLog({
          store: db.audit,
          keys: auditOptions.keys ?? keys,
          checkpointIntervalMs: config.audit.checkpointIntervalMs,
          onError: () => {
            logger.error({ event: 'audit.checkpoint_failed' }, 'audit checkpoint could not be written');
          },
        }),
      async close() {
        await keys.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
