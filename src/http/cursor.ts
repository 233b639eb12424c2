import { ApiError } from '../errors/index.js';

/** Opaque page cursors (base64url), so clients do not build them by hand. */
export function encodeCursor(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

/**
 * The value of a cursor this server made, or 400 naming `_cursor`: a forged
 * one must not reach the store as an arbitrary keyset position (NUL bytes
 * crash PostgreSQL's text type; garbage pages through SQLite).
 */
export function decodeCursor(cursor: string | undefined, shape: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const value = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!shape.test(value) || encodeCursor(value) !== cursor)
    throw new ApiError('VALIDATION_ERROR', '_cursor: not a cursor this server issued');
  return value;
}
