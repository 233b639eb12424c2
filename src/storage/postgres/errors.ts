import { StorageError, type StorageFailure } from '../errors.js';

/** pg errors carry the SQLSTATE (or a Node system error code) as `code`. */
function pgCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return '';
}

/** SQLSTATE 23505: unique_violation. */
export function isPgUniqueViolation(error: unknown): boolean {
  return pgCode(error) === '23505';
}

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
]);
const busyCodes = new Set(['40001', '40P01', '55P03', '57014']);

function classify(error: unknown): StorageFailure {
  const code = pgCode(error);
  if (isPgUniqueViolation(error)) return 'duplicate';
  if (busyCodes.has(code)) return 'busy';
  if (code.startsWith('08') || unavailableCodes.has(code)) return 'unavailable';
  // pg's own errors carry no code: a time-out, a connection that ended, or a client whose connection broke
  // earlier ("… is not queryable", e.g. PostgreSQL stopped between two statements of a transaction).
  if (error instanceof Error && /timeout|terminated|not queryable/i.test(error.message) && code === '')
    return 'unavailable';
  return 'failed';
}

/** Wraps a driver error so no SQL, value or host reaches the caller; StorageErrors pass through. */
export function toPgStorageError(operation: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(operation, classify(error), { cause: error });
}

/** Runs driver work, converting any driver error into a StorageError. */
export async function guardPg<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toPgStorageError(operation, error);
  }
}
