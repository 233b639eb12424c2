/**
 * The blind-index token format (docs/blind-indexes.md "Token format"):
 * `<key id>.<MAC>`, where MAC is HMAC-SHA-256 under the index key over
 * `caduceus-blind-index-v1 NUL <key id> NUL <Type.param> NUL <plain token>`,
 * truncated to 128 bits and base64url-encoded (22 characters).
 */
import { createHmac, type KeyObject } from 'node:crypto';

/** Bytes of an index key: HMAC-SHA-256 keyed with 256 bits (NIST SP 800-107r1 §5.3.4). */
export const indexKeyBytes = 32;

/** Random bytes of an index key id (8 hex characters): a short prefix on every token, unique per deployment. */
export const indexKeyIdBytes = 4;

/**
 * MAC bytes kept: 128 bits, the floor NIST SP 800-107r1 §5.3.3 allows for a
 * truncated HMAC; collisions among a deployment's tokens stay negligible
 * (birthday bound 2^64).
 */
export const macBytes = 16;

const label = 'caduceus-blind-index-v1';

/** An unwrapped index key, held only in memory. */
export interface IndexKey {
  readonly id: string;
  readonly key: KeyObject;
}

/**
 * The blind token of one plain token. NUL separators: the key id is hex and
 * a domain is `Type.param`, neither can hold NUL, and the plain token comes
 * last, so no two inputs share an encoding (domain separation).
 */
export function blindToken(indexKey: IndexKey, domain: string, plainToken: string): string {
  const mac = createHmac('sha256', indexKey.key)
    .update(`${label}\0${indexKey.id}\0${domain}\0${plainToken}`, 'utf8')
    .digest()
    .subarray(0, macBytes)
    .toString('base64url');
  return `${indexKey.id}.${mac}`;
}

/** The prefix every token made under the key starts with. */
export function tokenPrefixOf(keyId: string): string {
  return `${keyId}.`;
}
