import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDatabase, openDatabase } from '../../src/storage/open.js';
import {
  dropPostgresSchema,
  openTestDatabase,
  postgresAvailable,
  rawPostgresExec,
  testPostgresBaseUrl,
  uniqueSchemaName,
  withSchema,
} from '../helpers/database.js';
import { runStorageContract } from './contract.js';
import { registerAlertContract } from './contract-alerts.js';
import { registerAuditQueryContract } from './contract-audit-query.js';
import { registerDataKeyContract } from './contract-data-keys.js';
import { registerRotationStoreContract } from './contract-rotation.js';
import { auditRow } from './fixtures.js';

/** Registers the PostgreSQL-only tests on a reachable server. */
async function registerPostgresTests(): Promise<void> {
  const shared = await openTestDatabase('postgres');
  after(() => shared.cleanup());
  const schema = new URL(shared.url).searchParams.get('schema')!;

  runStorageContract(
    'postgres',
    async () => {
      const db = await openDatabase(shared.url);
      await db.migrate();
      return db;
    },
    { rawExec: (sql) => rawPostgresExec(schema, sql) },
  );

  describe('postgres alert and audit-search contract', () => {
    const ctx = {
      open: async () => {
        const db = await openDatabase(shared.url);
        await db.migrate();
        return db;
      },
      rawExec: (sql: string) => rawPostgresExec(schema, sql),
    };
    registerAlertContract(ctx);
    registerAuditQueryContract(ctx);
    registerDataKeyContract(ctx);
  });

  describe('postgres key-rotation store contract', () => {
    registerRotationStoreContract('postgres');
  });

  test('postgres: two processes migrating a fresh schema at once apply each version exactly once', async () => {
    const fresh = uniqueSchemaName();
    const url = withSchema(testPostgresBaseUrl(), fresh);
    try {
      const [a, b] = await Promise.all([openDatabase(url), openDatabase(url)]);
      try {
        const [ra, rb] = await Promise.all([a.migrate(), b.migrate()]);
        assert.deepEqual(
          [...ra, ...rb].sort((x, y) => x - y),
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        );
        assert.deepEqual(await a.migrate(), []);
        assert.equal(a.kind, 'postgres');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    } finally {
      await dropPostgresSchema(fresh);
    }
  });

  test('postgres: TRUNCATE of the audit log is refused too', async () => {
    const w = `trunc-${schema}`;
    await shared.db.audit.append([auditRow(w, 1)]);
    await assert.rejects(rawPostgresExec(schema, 'TRUNCATE audit_log'), /append-only/);
    assert.equal((await shared.db.audit.read({ writerId: w, limit: 5 })).length, 1);
  });
}

if (await postgresAvailable()) {
  await registerPostgresTests();
} else if (process.env.CI === 'true') {
  test('postgres storage contract', () => {
    assert.fail(`PostgreSQL is unreachable at ${describeDatabase(testPostgresBaseUrl())}; CI requires it`);
  });
} else {
  test(
    'postgres storage contract',
    {
      skip: `PostgreSQL unreachable at ${describeDatabase(testPostgresBaseUrl())}; set CADUCEUS_TEST_DATABASE_URL (CI=true makes this fail)`,
    },
    () => undefined,
  );
}
