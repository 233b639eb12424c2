/**
 * Data keys (DEKs) of envelope encryption: generated here, stored only
 * wrapped (DataKeyStore), unwrapped through the key wrapper behind the
 * `key-manager` circuit breaker, and kept in clear only in this process's
 * memory, in a bounded LRU cache.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { createLruCache } from '../../lib/lru-cache.js';
import type { Breaker } from '../../lib/circuit-breaker.js';
import type { DataKeyStore, StoredDataKey } from '../../storage/ports.js';
import type { KeyWrapper } from '../ports.js';
import { dataKeyIdBytes } from './format.js';

/** A data key ready to use. */
export interface ActiveDataKey {
  readonly id: string;
  readonly key: KeyObject;
}

/** Options of {@link createDataKeyRing}. */
export interface DataKeyRingOptions {
  readonly wrapper: KeyWrapper;
  readonly store: DataKeyStore;
  /** The `key-manager` breaker: every wrap and unwrap runs under it (timeout, then 503). */
  readonly breaker: Breaker;
  /** Most unwrapped data keys kept in memory (CADUCEUS_DATA_KEY_CACHE_SIZE). */
  readonly cacheSize: number;
  /** How long the current key is used before the store is asked again (another process may have rotated it). Default 30 s. */
  readonly currentRefreshMs?: number;
  readonly now?: () => number;
}

/** The data keys one process uses. */
export interface DataKeyRing {
  /** The key new seals use; created (once, across processes) on first use. */
  current(): Promise<ActiveDataKey>;
  /** The key a sealed body names; undefined when no such key is stored. */
  byId(id: string): Promise<KeyObject | undefined>;
  /** How many unwrapped keys the cache holds now (at most `cacheSize`). */
  readonly cachedKeys: number;
}

/** Makes a KeyObject and wipes the raw bytes it was made from. */
function keyObjectOf(raw: Uint8Array): KeyObject {
  const key = createSecretKey(raw);
  raw.fill(0);
  return key;
}

/** Creates the data-key ring of one process. */
export function createDataKeyRing(options: DataKeyRingOptions): DataKeyRing {
  const { wrapper, store, breaker } = options;
  const now = options.now ?? Date.now;
  const refreshMs = options.currentRefreshMs ?? 30_000;
  const cache = createLruCache<KeyObject>(options.cacheSize);
  // One unwrap per key at a time: concurrent readers of a cold key share it (no stampede on the HSM).
  const unwrapping = new Map<string, Promise<KeyObject>>();
  let active: { key: ActiveDataKey; at: number } | undefined;
  let loading: Promise<ActiveDataKey> | undefined;

  function unwrapStored(stored: StoredDataKey): Promise<KeyObject> {
    const cached = cache.get(stored.id);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = unwrapping.get(stored.id);
    if (pending === undefined) {
      pending = breaker
        .run(() => wrapper.unwrap({ kekId: stored.kekId, wrapped: stored.wrapped }))
        .then((raw) => {
          const key = keyObjectOf(raw);
          cache.set(stored.id, key);
          return key;
        })
        .finally(() => {
          unwrapping.delete(stored.id);
        });
      unwrapping.set(stored.id, pending);
    }
    return pending;
  }

  /** Creates a data key and offers it as current; another process's key may win (the store decides). */
  async function createCurrent(): Promise<ActiveDataKey> {
    const raw = randomBytes(32);
    const wrapped = await breaker.run(() => wrapper.wrap(raw));
    const id = randomBytes(dataKeyIdBytes).toString('hex');
    const stored = await store.insertCurrentIfAbsent({
      id,
      kekId: wrapped.kekId,
      wrapped: wrapped.wrapped,
      createdAt: new Date(now()).toISOString(),
    });
    if (stored.id !== id) {
      raw.fill(0);
      return { id: stored.id, key: await unwrapStored(stored) };
    }
    const key = keyObjectOf(raw);
    cache.set(id, key);
    return { id, key };
  }

  async function loadCurrent(): Promise<ActiveDataKey> {
    const stored = await store.current();
    const key = stored === undefined ? await createCurrent() : { id: stored.id, key: await unwrapStored(stored) };
    active = { key, at: now() };
    return key;
  }

  return {
    current() {
      if (active !== undefined && now() - active.at < refreshMs) return Promise.resolve(active.key);
      loading ??= loadCurrent().finally(() => {
        loading = undefined;
      });
      return loading;
    },
    async byId(id) {
      const cached = cache.get(id);
      if (cached !== undefined) return cached;
      const stored = await store.get(id);
      return stored === undefined ? undefined : unwrapStored(stored);
    },
    get cachedKeys() {
      return cache.size;
    },
  };
}
