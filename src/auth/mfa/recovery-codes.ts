import { createHash, randomInt } from 'node:crypto';

/** Ten codes per set, as most identity providers issue. */
export const recoveryCodeCount = 10;

/** Crockford-style alphabet without 0/O, 1/I/L: codes are read off paper and typed. */
const alphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const groups = 3;
const groupLength = 4;

/** A fresh set of codes like `K7QW-9MZP-X3TA` (about 59 bits each), shown once and never stored in clear. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: recoveryCodeCount }, () =>
    Array.from({ length: groups }, () =>
      Array.from({ length: groupLength }, () => alphabet[randomInt(alphabet.length)] ?? '').join(''),
    ).join('-'),
  );
}

/** What a user types, normalised: case, spaces and dashes do not matter. */
export function normalizeRecoveryCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

/**
 * SHA-256 of the normalised code. A fast hash is enough here (unlike for
 * passwords): each code is ~59 random bits, so there is no dictionary to
 * try, and the hash is only a lookup key for the atomic delete.
 */
export function hashRecoveryCode(input: string): string {
  return createHash('sha256')
    .update(`caduceus-recovery:${normalizeRecoveryCode(input)}`)
    .digest('hex');
}
