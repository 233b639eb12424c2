import type { Logger } from 'pino';
import { createAuditLog } from './audit/writer.js';
import type { AuditLog } from './audit/event.js';
import type { Config } from './config/index.js';
import type { Breakers } from './lib/circuit-breaker.js';
import type { KeyManager, RotatingKeyManager } from './keys/ports.js';
import { openConfiguredKeys, type MasterKey } from './keys/local/index.js';
import { createStartup, openOrDispose, type Startup, type StartupHooks } from './startup.js';
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

/** How the database and keys are opened. */
export interface RuntimeOptions {
  /** PostgreSQL then runs behind the `postgres` circuit breaker (docs/circuit-breakers.md). */
  readonly breakers?: Breakers;
  /** Bulk loading (benchmarks): SQLite trades durability for speed. */
  readonly bulkLoad?: boolean;
}

/**
 * Opens and migrates the database and opens the keys as steps of `startup`,
 * each close on its stack: the server's services and every CLI command
 * start here.
 */
export async function openRuntimeSteps(
  startup: Startup,
  config: Config,
  logger: Logger,
  options: RuntimeOptions = {},
): Promise<Omit<Runtime, 'close'>> {
  const db = await startup.open(
    'database',
    () =>
      openDatabase(config.databaseUrl, {
        postgresTls: config.databaseTls,
        ...(options.bulkLoad === true && { bulkLoad: true }),
        ...(options.breakers !== undefined && {
          circuit: {
            breakers: options.breakers,
            timeoutMs: config.breakers.databaseTimeoutMs,
            resetMs: config.breakers.resetMs,
          },
        }),
      }),
    (opened) => opened.close(),
  );
  await startup.open('migrate', async () => {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ event: 'storage.migrated', versions: applied }, 'database migrated');
  });
  const { keys, masterKey } = await startup.open(
    'keys',
    () => openConfiguredKeys(config, logger),
    (opened) => opened.keys.close(),
  );
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
  };
}

/**
 * Opens the database (migrated) and the keys for one CLI command or tool;
 * `close()` closes them in reverse order, as a failed open already has.
 */
export async function openRuntime(
  config: Config,
  logger: Logger,
  options: RuntimeOptions & { readonly hooks?: StartupHooks } = {},
): Promise<Runtime> {
  const startup = createStartup(options.hooks);
  return openOrDispose(startup, async () => ({
    ...(await openRuntimeSteps(startup, config, logger, options)),
    close: () => startup.stack.disposeAsync(),
  }));
}
