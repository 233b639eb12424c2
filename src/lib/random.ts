import { randomFillSync, randomUUID, timingSafeEqual, createHash } from 'node:crypto';

/** Security primitives live in one place (STYLE.md #10). */

const idBytes = 16;
/**
 * Random bytes drawn 4 KiB at a time for request ids, as Node's randomUUID
 * pools its entropy: one randomFillSync per 256 ids instead of one call per
 * request (randomBytes per request cost 8% of a read; randomUUID and
 * stripping its dashes, 1.5%). The only module-level state here: an entropy
 * buffer, not configuration, and ids drawn from it are public.
 */
const idPool = Buffer.alloc(idBytes * 256);
let idOffset = idPool.length;

/** 32 lowercase hex characters (128 random bits), the seed's requestId shape. */
export function randomHexId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + idBytes);
  idOffset += idBytes;
  return id;
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
