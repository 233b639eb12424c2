import { randomBytes, randomUUID, timingSafeEqual, createHash } from 'node:crypto';

/** Security primitives live in one place (STYLE.md #10). */

/** 32 lowercase hex characters: 128 random bits, the seed's requestId shape. */
export function randomHexId(): string {
  return randomBytes(16).toString('hex');
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
