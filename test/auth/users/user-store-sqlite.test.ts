import { after } from 'node:test';
import { openDatabase } from '../../../src/storage/open.js';
import { openTestDatabase } from '../../helpers/database.js';
import { registerUserStoreContract } from './user-store-contract.js';
import { registerDirectoryContract } from './directory-contract.js';

const shared = await openTestDatabase('sqlite');
after(() => shared.cleanup());

const second = async () => {
  const db = await openDatabase(shared.url);
  await db.migrate();
  return db;
};

registerUserStoreContract('sqlite', () => shared.db, second);
registerDirectoryContract('sqlite', () => shared.db, second);
