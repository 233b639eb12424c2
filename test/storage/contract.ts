import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../src/storage/errors.js';
import type { Database } from '../../src/storage/ports.js';
import { registerAuditContract } from './contract-audit.js';
import { registerKvContract } from './contract-kv.js';
import { registerResourceContract } from './contract-resources.js';
import { registerSearchContract } from './contract-search.js';
import { withDatabase, type ContractContext } from './fixtures.js';

export type { ContractContext } from './fixtures.js';

function registerLifecycleContract(ctx: ContractContext): void {
  test('migrate is idempotent on a migrated database', () =>
    withDatabase(ctx, async (db) => {
      assert.deepEqual(await db.migrate(), []);
      assert.deepEqual(await db.migrate(), []);
    }));

  test('ping answers; close twice is harmless; use after close fails without SQL in the message', async () => {
    const db = await ctx.open();
    await db.ping();
    await db.close();
    await db.close();
    await assert.rejects(
      db.ping(),
      (error: unknown) => error instanceof StorageError && !/select|from|where/i.test(error.message),
    );
    await assert.rejects(
      db.resources.readCurrent('T', 'x'),
      (error: unknown) => error instanceof StorageError && !/select|from|where/i.test(error.message),
    );
  });
}

/**
 * The one contract every Database adapter passes (DESIGN.md "Ports and
 * adapters"). `open` returns a migrated Database on the store under test;
 * each call is a separate connection or pool, standing in for a separate
 * process. `hooks.rawExec` runs SQL behind the port, for tampering tests.
 */
export function runStorageContract(
  name: string,
  open: () => Promise<Database>,
  hooks: { rawExec(sql: string): Promise<void> },
): void {
  const ctx: ContractContext = { open, rawExec: (sql) => hooks.rawExec(sql) };
  describe(`${name} storage contract`, () => {
    registerLifecycleContract(ctx);
    registerResourceContract(ctx);
    registerSearchContract(ctx);
    registerKvContract(ctx);
    registerAuditContract(ctx);
  });
}
