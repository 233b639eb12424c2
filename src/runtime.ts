import type { Logger } from 'pino';
import { createAuditLog } from './audit/writer.js';
import type { AuditLog } from './audit/event.js';
import type { Config } from './config/index.js';
import { openLocalKeyManager, type LocalKeyManager } from './keys/local/index.js';
import { openDatabase } from './storage/open.js';
import type { Database } from './storage/ports.js';

/** The long-lived dependencies one process opens: database (migrated) and keys. */
export interface Runtime {
  readonly config: Config;
  readonly db: Database;
  readonly keys: LocalKeyManager;
  /** Opens this process's own audit writer (its own hash chain). */
  openAuditLog(): Promise<AuditLog & { readonly writerId: string }>;
  close(): Promise<void>;
}

/** Opens and migrates the database and opens the keyring; used by the server and every CLI command. */
export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const db = await openDatabase(config.databaseUrl);
  try {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ event: 'storage.migrated', versions: applied }, 'database migrated');
    const keys = await openLocalKeyManager({ path: config.keys.keyringPath });
    return {
      config,
      db,
      keys,
      openAuditLog: () => createAuditLog({
        store: db.audit,
        keys,
        checkpointIntervalMs: config.audit.checkpointIntervalMs,
        onError: () => { logger.error({ event: 'audit.checkpoint_failed' }, 'audit checkpoint could not be written'); },
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
