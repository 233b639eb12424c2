/**
 * What SQLite's own failures mean to a caller: a full or failing disk is the
 * server's temporary condition (503 with Retry-After), a unique violation is
 * the caller's duplicate, anything unknown stays a plain failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { toSqliteStorageError } from '../../src/storage/sqlite/errors.js';

/** The error a real SQLite database raises when it runs out of pages (max_page_count stands in for a full disk). */
function fullDatabaseError(): unknown {
  const db = new BetterSqlite3(':memory:');
  try {
    db.exec('CREATE TABLE t (v BLOB)');
    db.pragma('max_page_count = 3');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 100; i += 1) insert.run(Buffer.alloc(4096));
  } catch (error) {
    return error;
  } finally {
    db.close();
  }
  throw new Error('the database never filled up');
}

test('a full database is unavailable (503), not an internal error', () => {
  const error = fullDatabaseError();
  assert.equal((error as { code?: unknown }).code, 'SQLITE_FULL');
  assert.equal(toSqliteStorageError('resources.write', error).reason, 'unavailable');
});

test('disk I/O errors are unavailable; a unique violation is a duplicate; the rest fail', () => {
  const withCode = (code: string) => Object.assign(new Error('driver message'), { code });
  assert.equal(toSqliteStorageError('w', withCode('SQLITE_IOERR_WRITE')).reason, 'unavailable');
  assert.equal(toSqliteStorageError('w', withCode('SQLITE_CONSTRAINT_UNIQUE')).reason, 'duplicate');
  assert.equal(toSqliteStorageError('w', withCode('SQLITE_MISMATCH')).reason, 'failed');
});
