import { parseArgs } from 'node:util';
import { openDatabase } from '../storage/open.js';
import type { Config } from '../config/index.js';
import type { CliIo } from './output.js';

/** `caduceus migrate`: applies pending migrations (the server also does at start). */
export async function migrateCommand(config: Config, args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const db = await openDatabase(config.databaseUrl, { postgresTls: config.databaseTls });
  try {
    const applied = await db.migrate();
    io.out(
      values.json
        ? JSON.stringify({ applied })
        : applied.length === 0
          ? 'database is up to date'
          : `applied migrations ${applied.join(', ')}`,
    );
  } finally {
    await db.close();
  }
}
