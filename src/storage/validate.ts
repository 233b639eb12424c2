import { StorageError } from './errors.js';
import type { VersionWrite } from './ports.js';

/**
 * Rejects writes the port forbids before any SQL runs, so both adapters fail
 * the same way: versions grow, and a tombstone has no body (FHIR R4 RESTful
 * API, delete: history is kept but the current version has no content).
 */
export function assertValidWrite(write: VersionWrite): void {
  const { expectedVersion, version, deleted, body } = write;
  const ok =
    Number.isSafeInteger(expectedVersion) &&
    expectedVersion >= 0 &&
    Number.isSafeInteger(version) &&
    version > expectedVersion &&
    (!deleted || body === null);
  if (!ok) throw new StorageError('resources.commit', 'invalid');
}

/** Rejects page sizes that are not non-negative integers. */
export function assertLimit(operation: string, limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new StorageError(operation, 'invalid');
}

/** Rejects a TTL that is not a finite number of milliseconds. */
export function assertTtl(operation: string, ttlMs: number): void {
  if (!Number.isFinite(ttlMs)) throw new StorageError(operation, 'invalid');
}
