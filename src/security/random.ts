import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';

/** Security primitives live in one place (STYLE.md #10). */

/**
 * 32 lowercase hex characters, the seed's requestId shape: a version-4 UUID
 * without dashes (122 random bits). randomUUID draws from a pooled entropy
 * cache; randomBytes per request cost 8% of a read in the profile.
 */
export function randomHexId(): string {
  return randomUUID().replaceAll('-', '');
}

/** A server-assigned resource id (FHIR R4 id: [A-Za-z0-9\-.]{1,64}). */
export function randomResourceId(): string {
  return randomUUID();
}

/** Constant-time comparison of two strings of possibly different length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
