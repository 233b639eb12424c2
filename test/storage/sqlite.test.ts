import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { StorageError } from '../../src/storage/errors.js';
import { openDatabase } from '../../src/storage/open.js';
import { sqliteAuditFile } from '../../src/storage/sqlite/connection.js';
import { openTestDatabase } from '../helpers/database.js';
import { runStorageContract } from './contract.js';
import { registerAlertContract } from './contract-alerts.js';
import { registerAuditQueryContract } from './contract-audit-query.js';
import { registerDataKeyContract } from './contract-data-keys.js';
import { registerRotationStoreContract } from './contract-rotation.js';
import { versionWrite } from './fixtures.js';

const shared = await openTestDatabase('sqlite');
after(() => shared.cleanup());

/** Runs SQL over a second, raw connection to the same file, as an operator with file access would. */
function rawExec(sql: string): Promise<void> {
  const raw = new BetterSqlite3(shared.url);
  try {
    // Both files behind the port, so that `audit_log` resolves as it does for an attacker with file access.
    raw.prepare('ATTACH DATABASE ? AS audit').run(sqliteAuditFile(shared.url));
    raw.exec(sql);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error('raw exec failed'));
  } finally {
    raw.close();
  }
}

runStorageContract(
  'sqlite',
  async () => {
    const db = await openDatabase(shared.url);
    await db.migrate();
    return db;
  },
  { rawExec },
);

describe('sqlite alert and audit-search contract', () => {
  const ctx = {
    open: async () => {
      const db = await openDatabase(shared.url);
      await db.migrate();
      return db;
    },
    rawExec,
  };
  registerAlertContract(ctx);
  registerAuditQueryContract(ctx);
  registerDataKeyContract(ctx);
});

describe('sqlite key-rotation store contract', () => {
  registerRotationStoreContract('sqlite');
});

test('sqlite: a fresh file migrates every version once, in WAL mode, in a 0700 folder it creates, with the audit log in its own file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-sqlite-'));
  try {
    const file = path.join(dir, 'nested', 'deeper', 'caduceus.db');
    const db = await openDatabase(file);
    try {
      assert.deepEqual(await db.migrate(), [1, 2, 6, 7, 8, 9, 10, 11, 3, 4, 5]);
      assert.deepEqual(await db.migrate(), []);
      assert.equal(db.kind, 'sqlite');
    } finally {
      await db.close();
    }
    assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const versions = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      assert.deepEqual(versions, [1, 2, 6, 7, 8, 9, 10, 11]);
    } finally {
      raw.close();
    }
    // The audit log's own file, beside it (src/storage/sqlite/connection.ts says why), 0600 like the database.
    const auditFile = path.join(path.dirname(file), 'caduceus-audit.db');
    assert.equal(sqliteAuditFile(file), auditFile);
    for (const owned of [file, auditFile]) assert.equal((await stat(owned)).mode & 0o777, 0o600, owned);
    const rawAudit = new BetterSqlite3(auditFile, { readonly: true });
    try {
      assert.equal(rawAudit.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(rawAudit.prepare('SELECT version FROM schema_migrations').pluck().all(), [3, 4, 5]);
      assert.deepEqual(
        rawAudit.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all(),
        ['alerts', 'audit_log', 'schema_migrations'],
      );
    } finally {
      rawAudit.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sqlite: :memory: works for tests', async () => {
  const db = await openDatabase(':memory:');
  try {
    assert.deepEqual(await db.migrate(), [1, 2, 6, 7, 8, 9, 10, 11, 3, 4, 5]);
    assert.equal(await db.resources.commit(versionWrite({ type: 'T', id: 'm', expectedVersion: 0 })), 'committed');
    assert.equal((await db.resources.readCurrent('T', 'm'))?.version, 1);
  } finally {
    await db.close();
  }
});

test('sqlite: a writer blocked past busyTimeoutMs fails with StorageError("busy") and no SQL', async () => {
  const db = await openDatabase(shared.url, { busyTimeoutMs: 50 });
  const holder = new BetterSqlite3(shared.url);
  try {
    holder.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await assert.rejects(
      db.resources.commit(versionWrite({ type: 'Busy', id: 'b', expectedVersion: 0 })),
      (error: unknown) =>
        error instanceof StorageError && error.reason === 'busy' && !/insert|select/i.test(error.message),
    );
    assert.ok(Date.now() - started >= 40, 'waited for the busy timeout before failing');
    holder.exec('ROLLBACK');
    assert.equal(await db.resources.commit(versionWrite({ type: 'Busy', id: 'b', expectedVersion: 0 })), 'committed');
  } finally {
    holder.close();
    await db.close();
  }
});

test('sqlite: operations before migrate fail with a StorageError, not a driver error', async () => {
  const db = await openDatabase(':memory:');
  try {
    await assert.rejects(
      db.kv.get('k'),
      (error: unknown) => error instanceof StorageError && error.cause instanceof Error,
    );
  } finally {
    await db.close();
  }
});
