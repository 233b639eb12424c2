/**
 * Storage failures as callers see them. The message is generic and safe to
 * log: no SQL text, no values, no file paths (DESIGN.md invariants). The
 * driver error rides along as `cause` for operators debugging locally.
 * Only a failure to open the database says more (open-failure.ts): the
 * file or host the operator configured, so the fix is visible at start.
 */

import { CaduceusError, type CaduceusErrorOptions } from '../errors/index.js';

/** Why a storage operation failed, for callers that react differently. */
export type StorageFailure =
  /** A row with the same key already exists (e.g. audit (writer_id, seq)). */
  | 'duplicate'
  /** The caller passed arguments the port forbids. */
  | 'invalid'
  /** The database stayed locked past the busy timeout. */
  | 'busy'
  /** The database could not be reached. */
  | 'unavailable'
  /** Anything else. */
  | 'failed';

/** What a StorageError carries besides operation and reason. */
export interface StorageErrorOptions extends CaduceusErrorOptions {
  /** Replaces the generic sentence; only for what the operator configured (a file path, host:port), never SQL or values. */
  readonly message?: string;
}

/** The one error type storage adapters throw. */
export class StorageError extends CaduceusError {
  readonly code = 'STORAGE_FAILED';
  readonly operatorSafe = true;
  readonly reason: StorageFailure;
  readonly operation: string;

  constructor(operation: string, reason: StorageFailure, options?: StorageErrorOptions) {
    super(options?.message ?? `Storage operation ${operation} failed (${reason})`, options);
    this.name = 'StorageError';
    this.operation = operation;
    this.reason = reason;
  }
}

/** Narrowing guard for storage errors. */
export function isStorageError(value: unknown): value is StorageError {
  return value instanceof StorageError;
}
