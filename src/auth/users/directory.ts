/**
 * The user directory the login pages and the authorization server call
 * (ports.ts UserDirectory): the password check with lockout, and account
 * lookups for oidc-provider's findAccount (docs/users.md).
 */
import { randomBytes } from 'node:crypto';
import { accountClaims } from './account-claims.js';
import type { LoginLockout } from './lockout.js';
import type { PasswordHasher } from './password-hasher.js';
import { passwordLength, maxPasswordLength } from './password-policy.js';
import type {
  PasswordAttempt,
  PasswordVerification,
  User,
  UserDirectory,
  UserStore,
} from '../../storage/user-ports.js';
import { normalizeUsername } from './username.js';

/** What the directory is built from. */
export interface UserDirectoryDeps {
  readonly users: UserStore;
  readonly hasher: PasswordHasher;
  readonly lockout: LoginLockout;
  /** The FHIR base URL, to make `fhirUser` absolute; relative when absent. */
  readonly fhirBaseUrl?: string;
  /** ISO 8601 instants for `updatedAt`; the clock by default. */
  readonly now?: () => Date;
  /** The hashing queue's early answer (HashingQueue.wouldShed); never busy when absent. */
  readonly busy?: () => number | undefined;
}

/** The directory, plus the count of dummy verifications (unknown usernames), which tests read. */
export interface UserDirectoryWithStats extends UserDirectory {
  stats(): { readonly dummyVerifications: number };
}

/**
 * Keeps a hash under the current policy of a random, never-used password, so
 * an unknown username costs the same one verification as a known one (no
 * user enumeration by timing, OWASP Authentication Cheat Sheet). Made once,
 * in the background, when the directory is created; remade if that failed.
 */
function dummyHashSource(hasher: PasswordHasher): () => Promise<string> {
  const make = (): Promise<string> => hasher.hash(randomBytes(24).toString('base64url'));
  let pending = make();
  pending.catch(() => undefined); // observed: a failure is retried on first use
  return async () => {
    try {
      return await pending;
    } catch {
      pending = make();
      return pending;
    }
  };
}

/** Creates the directory over the store, the hasher and the lockout. */
export function createUserDirectory(deps: UserDirectoryDeps): UserDirectoryWithStats {
  const { users, hasher, lockout } = deps;
  const now = deps.now ?? (() => new Date());
  const dummyHash = dummyHashSource(hasher);
  let dummyVerifications = 0;

  /** Login-time re-hash (docs/users.md): best effort, never fails the login that triggered it. */
  async function rehashIfNeeded(user: User, password: string): Promise<User> {
    if (!hasher.needsRehash(user.passwordHash)) return user;
    try {
      const fresh = await hasher.hash(password);
      const updatedAt = now().toISOString();
      const replaced = await users.replacePasswordHash(user.id, user.passwordHash, fresh, updatedAt);
      return replaced ? { ...user, passwordHash: fresh, updatedAt } : user;
    } catch {
      return user; // a full hashing queue or a storage error: re-hash at a later login
    }
  }

  async function verifyPassword(attempt: PasswordAttempt): Promise<PasswordVerification> {
    const username = normalizeUsername(attempt.username);
    const { sourceIp, password } = attempt;
    // Refused before any hashing: the policy never stores a longer one, and the length is the caller's, not the account's.
    if (passwordLength(password) > maxPasswordLength) return { ok: false, reason: 'invalid_input' };
    const lock = await lockout.check(username, sourceIp);
    if (lock.locked)
      return {
        ok: false,
        reason: lock.scope === 'account' ? 'locked' : 'ip_locked',
        retryAfterSeconds: lock.retryAfterSeconds,
      };
    const user = await users.getByUsername(username);
    let matches: boolean;
    if (user === undefined) {
      dummyVerifications += 1;
      await hasher.verify(await dummyHash(), password);
      matches = false;
    } else {
      matches = await hasher.verify(user.passwordHash, password);
    }
    if (!matches || user === undefined) {
      const locked = await lockout.recordFailure(username, sourceIp);
      if (locked.locked)
        return {
          ok: false,
          reason: locked.scope === 'account' ? 'locked' : 'ip_locked',
          retryAfterSeconds: locked.retryAfterSeconds,
        };
      return { ok: false, reason: 'invalid_credentials' };
    }
    // Only someone who knows the password learns the account is disabled.
    if (user.status !== 'active') return { ok: false, reason: 'disabled' };
    await lockout.recordSuccess(username);
    return { ok: true, user: await rehashIfNeeded(user, password) };
  }

  async function findActiveUser(id: string): Promise<User | undefined> {
    const user = await users.getById(id);
    return user?.status === 'active' ? user : undefined;
  }

  return {
    verifyPassword,
    passwordCheckBusy: () => deps.busy?.(),
    findActiveUser,
    async findAccountClaims(id) {
      const user = await findActiveUser(id);
      return user === undefined ? undefined : accountClaims(user, deps.fhirBaseUrl);
    },
    stats: () => ({ dummyVerifications }),
  };
}
