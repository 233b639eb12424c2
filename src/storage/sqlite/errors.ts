import { StorageError, type StorageFailure } from '../errors.js';

/** better-sqlite3 errors carry the SQLite extended result code as `code`. */
function sqliteCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return '';
}

/** True for a primary-key or unique-constraint violation. */
export function isSqliteUniqueViolation(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function classify(error: unknown): StorageFailure {
  const code = sqliteCode(error);
  if (isSqliteUniqueViolation(error)) return 'duplicate';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'unavailable';
  // A full disk (or a failing one) is the server's condition, not the request's: 503 with Retry-After, not a 500.
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) return 'unavailable';
  return 'failed';
}

/** Wraps a driver error so no SQL or path reaches the caller; StorageErrors pass through. */
export function toSqliteStorageError(operation: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(operation, classify(error), { cause: error });
}

/**
 * Runs synchronous driver work to completion and settles a promise with its
 * result, so the SQLite adapter honours the async port; any driver error
 * becomes a rejected StorageError.
 */
export function runSqlite<T>(operation: string, work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(toSqliteStorageError(operation, error));
  }
}
