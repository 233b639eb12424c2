import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDatabase, openDatabase } from '../../../src/storage/open.js';
import { openTestDatabase, postgresAvailable, testPostgresBaseUrl } from '../../helpers/database.js';
import { registerUserStoreContract } from './user-store-contract.js';
import { registerDirectoryContract } from './directory-contract.js';

if (await postgresAvailable()) {
  const shared = await openTestDatabase('postgres');
  after(() => shared.cleanup());
  // A second pool on the same schema: another server process.
  const second = async () => {
    const db = await openDatabase(shared.url);
    await db.migrate();
    return db;
  };
  registerUserStoreContract('postgres', () => shared.db, second);
  registerDirectoryContract('postgres', () => shared.db, second);
} else if (process.env.CI === 'true') {
  test('postgres user store', () => {
    assert.fail(`PostgreSQL is unreachable at ${describeDatabase(testPostgresBaseUrl())}; CI requires it`);
  });
} else {
  test(
    'postgres user store',
    {
      skip: `PostgreSQL unreachable at ${describeDatabase(testPostgresBaseUrl())}; set CADUCEUS_TEST_DATABASE_URL (CI=true makes this fail)`,
    },
    () => undefined,
  );
}
