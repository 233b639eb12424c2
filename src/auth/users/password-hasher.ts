/**
 * Password hashing as PHC strings: argon2id (RFC 9106) by default, PBKDF2-
 * HMAC-SHA-256 in FIPS mode. Both formats always verify, so switching FIPS
 * mode on or off never locks anyone out; needsRehash tells the login to
 * re-hash under the current policy (docs/users.md "Hashing").
 */
import { parseOptions } from '@node-rs/argon2';
import type { UsersConfig } from '../../config/users.js';
import type { HashThreads } from './hash-threads.js';
import type { HashingQueue } from './hashing-queue.js';
import { hashPbkdf2, parsePbkdf2, verifyPbkdf2, type Pbkdf2Derive } from './pbkdf2.js';

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
    return (
      stored.memoryCost !== policy.memoryKiB ||
      stored.timeCost !== policy.timeCost ||
      stored.parallelism !== policy.parallelism
    );
  } catch {
    return true;
  }
}

/**
 * Creates the hasher: `queue` bounds how many hashes run and wait and the
 * CPU they use; `threads` computes them, at a low priority (hash-threads.ts).
 */
export function createPasswordHasher(
  options: PasswordHasherOptions,
  queue: HashingQueue,
  threads: HashThreads,
): PasswordHasher {
  const { fips, argon2, pbkdf2Iterations } = options;
  const derive: Pbkdf2Derive = async (password, salt, iterations, keyBytes) => {
    const key = await threads.run({ op: 'pbkdf2', password, salt, iterations, keyBytes });
    if (!(key instanceof Uint8Array)) throw new TypeError('pbkdf2 answered no key');
    return key;
  };
  const argon2Hash = async (password: string): Promise<string> => {
    const phc = await threads.run({
      op: 'argon2.hash',
      password,
      options: { memoryCost: argon2.memoryKiB, timeCost: argon2.timeCost, parallelism: argon2.parallelism },
    });
    if (typeof phc !== 'string') throw new TypeError('argon2 answered no hash');
    return phc;
  };
  return {
    hash(password) {
      const normalised = normalise(password);
      return queue.run(() => (fips ? hashPbkdf2(normalised, pbkdf2Iterations, derive) : argon2Hash(normalised)));
    },
    verify(phc, password) {
      const normalised = normalise(password);
      if (phc.startsWith(argon2idPrefix))
        return queue.run(async () => (await threads.run({ op: 'argon2.verify', phc, password: normalised })) === true);
      const pbkdf2 = parsePbkdf2(phc);
      if (pbkdf2 !== undefined) return queue.run(() => verifyPbkdf2(pbkdf2, normalised, derive));
      return Promise.resolve(false);
    },
    needsRehash(phc) {
      if (fips) return parsePbkdf2(phc)?.iterations !== pbkdf2Iterations;
      return !phc.startsWith(argon2idPrefix) || argon2NeedsRehash(phc, argon2);
    },
  };
}
