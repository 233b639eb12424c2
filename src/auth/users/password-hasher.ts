/**
 * Password hashing as PHC strings: argon2id (RFC 9106) by default, PBKDF2-
 * HMAC-SHA-256 in FIPS mode. Both formats always verify, so switching FIPS
 * mode on or off never locks anyone out; needsRehash tells the login to
 * re-hash under the current policy (docs/users.md "Hashing").
 */
import { hash as argon2Hash, parseOptions, verify as argon2Verify } from '@node-rs/argon2';
import type { UsersConfig } from '../../config/users.js';
import type { HashingQueue } from './hashing-queue.js';
import { hashPbkdf2, parsePbkdf2, verifyPbkdf2 } from './pbkdf2.js';

/**
 * @node-rs/argon2 hashes with argon2id when no algorithm is given (its
 * Algorithm is a const enum, which isolatedModules cannot read); the PHC
 * prefix says which variant a stored hash is.
 */
const argon2idPrefix = '$argon2id$';

/** Hashes and checks passwords; every hash runs through the bounded hashing queue. */
export interface PasswordHasher {
  /** A new PHC string under the current policy. */
  hash(password: string): Promise<string>;
  /** True when `password` matches `phc`; false for a wrong password or a string in no known format. */
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made by another algorithm or other parameters than the current policy. */
  needsRehash(phc: string): boolean;
}

/** What the hasher needs: the FIPS switch (CADUCEUS_FIPS) and the cost settings. */
export interface PasswordHasherOptions {
  readonly fips: boolean;
  readonly argon2: UsersConfig['argon2'];
  readonly pbkdf2Iterations: number;
}

/** NIST SP 800-63B §5.1.1.2: Unicode passwords are normalised (NFKC) before hashing, so one typed password has one form. */
function normalise(password: string): string {
  return password.normalize('NFKC');
}

function argon2NeedsRehash(phc: string, policy: PasswordHasherOptions['argon2']): boolean {
  try {
    const stored = parseOptions(phc);
    return stored.memoryCost !== policy.memoryKiB || stored.timeCost !== policy.timeCost
      || stored.parallelism !== policy.parallelism;
  } catch {
    return true;
  }
}

async function verifyArgon2(phc: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(phc, password);
  } catch {
    return false; // a malformed stored string matches nothing
  }
}

/** Creates the hasher; `queue` bounds how many hashes use libuv's thread pool at once. */
export function createPasswordHasher(options: PasswordHasherOptions, queue: HashingQueue): PasswordHasher {
  const { fips, argon2, pbkdf2Iterations } = options;
  return {
    hash(password) {
      const normalised = normalise(password);
      return queue.run(() => fips
        ? hashPbkdf2(normalised, pbkdf2Iterations)
        : argon2Hash(normalised, { memoryCost: argon2.memoryKiB, timeCost: argon2.timeCost, parallelism: argon2.parallelism }));
    },
    verify(phc, password) {
      const normalised = normalise(password);
      if (phc.startsWith(argon2idPrefix)) return queue.run(() => verifyArgon2(phc, normalised));
      const pbkdf2 = parsePbkdf2(phc);
      if (pbkdf2 !== undefined) return queue.run(() => verifyPbkdf2(pbkdf2, normalised));
      return Promise.resolve(false);
    },
    needsRehash(phc) {
      if (fips) return parsePbkdf2(phc)?.iterations !== pbkdf2Iterations;
      return !phc.startsWith(argon2idPrefix) || argon2NeedsRehash(phc, argon2);
    },
  };
}
