/**
 * An identity provider's keys, fetched from its jwks_uri and cached
 * (docs/external-idp.md "Keys"). A token with an unknown `kid` triggers one
 * refetch (the IdP rotated), at most once per cooldown, so random kids cannot
 * turn the gate into a request amplifier. Every fetch runs through the `jwks`
 * circuit breaker; a cached set outlives an IdP outage.
 */
import type { CidrBlock } from '../../lib/cidr.js';
import { createAddressList } from '../../lib/address-list.js';
import type { Breaker } from '../../lib/circuit-breaker.js';
import type { PublicKeyInfo, SigningAlgorithm } from '../../keys/ports.js';
import { fetchJson } from '../../lib/outbound-fetch.js';
import { keysFromJwks } from './jwks-keys.js';

/** Options of {@link createRemoteJwks}. */
export interface RemoteJwksOptions {
  /** An https:// jwks_uri (checked again by the fetch). */
  readonly url: string;
  readonly algorithms: readonly SigningAlgorithm[];
  /** Addresses an internal-looking jwks_uri host may resolve to. */
  readonly allow: readonly CidrBlock[];
  readonly ca?: string | Buffer;
  /** The breaker named `jwks`. */
  readonly breaker: Breaker;
  /** Per fetch (default 3000 ms). */
  readonly timeoutMs?: number;
  /** A set older than this is refetched on next use (default 10 minutes). */
  readonly maxAgeMs?: number;
  /** Least time between two fetches triggered by unknown kids or failures (default 30 s). */
  readonly cooldownMs?: number;
  readonly now?: () => number;
  /** Told about each failed fetch (its error type, never the URL): the caller logs it. */
  readonly onFetchError?: (error: unknown) => void;
}

/** The keys of one jwks_uri. */
export interface RemoteJwks {
  /** The cached keys, fetched when there are none or they are old; stale keys while the IdP is down. */
  keys(): Promise<PublicKeyInfo[]>;
  /** Refetches now (an unknown kid), unless the last fetch was within the cooldown: then the cached keys, or its failure again. */
  refresh(): Promise<PublicKeyInfo[]>;
}

/** JWK Sets are small; 64 KiB holds dozens of RSA keys with their x5c chains. */
const maxJwksBytes = 65_536;

/** Creates the cached, breaker-guarded key source of one jwks_uri. */
export function createRemoteJwks(options: RemoteJwksOptions): RemoteJwks {
  const url = new URL(options.url);
  const allowed = createAddressList(options.allow);
  const timeoutMs = options.timeoutMs ?? 3000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const now = options.now ?? Date.now;
  let cached: { keys: PublicKeyInfo[]; fetchedAt: number } | null = null;
  let lastAttempt: { at: number; error: Error | null } | null = null;
  let inflight: Promise<PublicKeyInfo[]> | null = null;

  async function fetchOnce(): Promise<PublicKeyInfo[]> {
    lastAttempt = { at: now(), error: null };
    try {
      const document = await options.breaker.run(() =>
        fetchJson(url, {
          allowed,
          timeoutMs,
          maxBytes: maxJwksBytes,
          ...(options.ca !== undefined && { ca: options.ca }),
        }),
      );
      const keys = keysFromJwks(document, options.algorithms);
      cached = { keys, fetchedAt: now() };
      return keys;
    } catch (error) {
      lastAttempt = { at: lastAttempt.at, error: error instanceof Error ? error : new Error('jwks fetch failed') };
      options.onFetchError?.(error);
      throw error;
    }
  }

  // Concurrent requests share one fetch.
  function load(): Promise<PublicKeyInfo[]> {
    inflight ??= fetchOnce().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  function coolingDown(): boolean {
    return lastAttempt !== null && now() - lastAttempt.at < cooldownMs;
  }

  return {
    async keys() {
      if (cached !== null && now() - cached.fetchedAt < maxAgeMs) return cached.keys;
      if (coolingDown() && lastAttempt !== null) {
        // Within the cooldown nothing is fetched: the keys we have, or the failure we just had.
        if (cached !== null) return cached.keys;
        if (lastAttempt.error !== null) throw lastAttempt.error;
      }
      try {
        return await load();
      } catch (error) {
        // Stale-if-error: tokens signed by keys we already know keep working through an IdP outage.
        if (cached !== null) return cached.keys;
        throw error;
      }
    },
    async refresh() {
      if (coolingDown() && lastAttempt !== null) {
        if (lastAttempt.error !== null) throw lastAttempt.error;
        return cached?.keys ?? [];
      }
      return load();
    },
  };
}
