/**
 * Login lockout with backoff, per account (username) and per source IP, kept
 * in the key-value store so that every process sharing the database sees the
 * same counts (docs/users.md "Lockout"). Accounts are keyed by the normalised
 * username whether or not it exists, so a lock says nothing about existence.
 *
 * A failure is one atomic increment of the scope's counter (one write per
 * scope, so a login burst costs the store as little as it can): two
 * processes failing at once get two different counts and neither failure is
 * lost. The account's counter is named by a generation; a success moves the
 * account to a new generation, which resets its count in one write. The
 * address's counter never resets on success, so it has no generation.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { UsersConfig } from '../../config/users.js';
import type { KeyValueStore } from '../../storage/ports.js';

/** Which counter locked. */
export type LockScope = 'account' | 'ip';

/** Whether a login may be tried now. */
export type LockState =
  { readonly locked: false } | { readonly locked: true; readonly scope: LockScope; readonly retryAfterSeconds: number };

/** The lockout the password check consults and feeds. */
export interface LoginLockout {
  /** The account's lock first, then the address's; one store round trip. */
  check(username: string, sourceIp: string): Promise<LockState>;
  /** Counts a failure for both; returns the lock it caused, if any (the account's first). */
  recordFailure(username: string, sourceIp: string): Promise<LockState>;
  /** Resets the account's count (not the address's: one good password must not unlock a spraying address). */
  recordSuccess(username: string): Promise<void>;
}

/** Options: the CADUCEUS_LOCKOUT_* settings and a clock (milliseconds since the epoch). */
export interface LoginLockoutOptions {
  readonly settings: UsersConfig['lockout'];
  readonly now?: () => number;
}

function accountKey(username: string): string {
  // Hashed: the key-value store needs no usernames in its keys.
  return `login:acct:${createHash('sha256').update(username).digest('base64url')}`;
}

function ipKey(sourceIp: string): string {
  return `login:ip:${sourceIp === '' ? 'unknown' : sourceIp}`;
}

function stateOf(until: string | undefined, scope: LockScope, now: number): LockState {
  const end = until === undefined ? Number.NaN : Number(until);
  if (!(end > now)) return { locked: false };
  return { locked: true, scope, retryAfterSeconds: Math.max(1, Math.ceil((end - now) / 1000)) };
}

/** Creates the lockout over the key-value store. */
export function createLoginLockout(kv: KeyValueStore, options: LoginLockoutOptions): LoginLockout {
  const { accountFailures, ipFailures, baseSeconds, maxSeconds, windowSeconds } = options.settings;
  const now = options.now ?? Date.now;
  // Counts outlive the longest lock, so a lock's end does not wipe the count that set it.
  const memoryMs = (windowSeconds + maxSeconds) * 1000;

  /** Counts one failure of this scope; returns the failure count. */
  async function countFailure(base: string, scope: LockScope): Promise<number> {
    // `:0:n` is where the slot-claiming lockout kept its count, so counts in flight carry over.
    const generation = scope === 'account' ? ((await kv.get(`${base}:gen`)) ?? '0') : '0';
    return kv.increment(`${base}:${generation}:n`, memoryMs);
  }

  /** Backoff: the threshold-th failure locks for baseSeconds, each further one doubles it, up to maxSeconds. */
  async function failAndMaybeLock(base: string, threshold: number, scope: LockScope): Promise<LockState> {
    const count = await countFailure(base, scope);
    if (count < threshold) return { locked: false };
    const seconds = Math.min(maxSeconds, baseSeconds * 2 ** Math.min(count - threshold, 30));
    await kv.set(`${base}:until`, String(now() + seconds * 1000), seconds * 1000);
    return { locked: true, scope, retryAfterSeconds: seconds };
  }

  return {
    async check(username, sourceIp) {
      const account = `${accountKey(username)}:until`;
      const address = `${ipKey(sourceIp)}:until`;
      const found = await kv.getMany([account, address]);
      const at = now();
      const accountState = stateOf(found.get(account), 'account', at);
      return accountState.locked ? accountState : stateOf(found.get(address), 'ip', at);
    },
    async recordFailure(username, sourceIp) {
      const [account, address] = await Promise.all([
        failAndMaybeLock(accountKey(username), accountFailures, 'account'),
        failAndMaybeLock(ipKey(sourceIp), ipFailures, 'ip'),
      ]);
      return account.locked ? account : address;
    },
    async recordSuccess(username) {
      await kv.set(`${accountKey(username)}:gen`, randomUUID(), memoryMs);
    },
  };
}
