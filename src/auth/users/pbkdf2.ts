/**
 * PBKDF2-HMAC-SHA-256 password hashes for FIPS mode (NIST SP 800-132; argon2
 * is not a FIPS 140 approved algorithm), as PHC strings in passlib's layout:
 * `$pbkdf2-sha256$i=<iterations>,l=<bytes>$<salt>$<hash>` with unpadded
 * standard base64 (the PHC string format's B64). Hand-written: node:crypto
 * is the FIPS-validated provider, and the format is a few lines.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** PBKDF2-HMAC-SHA-256 of (password, salt, iterations, key bytes): on the hashing threads (hash-threads.ts). */
export type Pbkdf2Derive = (
  password: string,
  salt: Uint8Array,
  iterations: number,
  keyBytes: number,
) => Promise<Uint8Array>;

/** PHC identifier of these hashes. */
export const pbkdf2Id = 'pbkdf2-sha256';
const saltBytes = 16;
const keyBytes = 32;
const phcPattern = /^\$pbkdf2-sha256\$i=(\d{1,9}),l=(\d{1,3})\$([A-Za-z0-9+/]{16,128})\$([A-Za-z0-9+/]{16,256})$/;

/** A parsed PBKDF2 PHC string. */
export interface Pbkdf2Hash {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Parses a `$pbkdf2-sha256$` PHC string; undefined when it is not one. */
export function parsePbkdf2(phc: string): Pbkdf2Hash | undefined {
  const match = phcPattern.exec(phc);
  if (match === null) return undefined;
  const [, iterations = '', length = '', salt = '', hash = ''] = match;
  const parsed = {
    iterations: Number(iterations),
    salt: Buffer.from(salt, 'base64'),
    hash: Buffer.from(hash, 'base64'),
  };
  if (parsed.iterations < 1 || parsed.hash.length !== Number(length)) return undefined;
  return parsed;
}

/** Hashes with a fresh random salt. */
export async function hashPbkdf2(password: string, iterations: number, derive: Pbkdf2Derive): Promise<string> {
  const salt = randomBytes(saltBytes);
  const hash = Buffer.from(await derive(password, salt, iterations, keyBytes));
  return `$${pbkdf2Id}$i=${iterations},l=${keyBytes}$${b64(salt)}$${b64(hash)}`;
}

/** Constant-time check of a password against a parsed hash. */
export async function verifyPbkdf2(parsed: Pbkdf2Hash, password: string, derive: Pbkdf2Derive): Promise<boolean> {
  const candidate = await derive(password, parsed.salt, parsed.iterations, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}
