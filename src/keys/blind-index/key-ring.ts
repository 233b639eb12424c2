/**
 * The index keys one process uses (docs/blind-indexes.md "Key hierarchy"):
 * stored only wrapped by a key-encryption key (IndexKeyStore), unwrapped
 * through the KeyWrapper and held in memory as KeyObjects. Tokenizing is
 * synchronous, so the ring keeps a snapshot and refreshes it in the
 * background: another process (`caduceus keys rotate --index`) may roll a
 * key in or out, and every process must follow within `refreshMs`.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Breaker } from '../../lib/circuit-breaker.js';
import type { IndexKeyStore, StoredIndexKey } from '../../storage/ports.js';
import type { KeyWrapper } from '../ports.js';
import { indexKeyBytes, indexKeyIdBytes, type IndexKey } from './format.js';

/** How often a process re-reads the index keys; a rotation waits longer than this between its steps. */
export const indexKeyRefreshMs = 30_000;

/** The keys to tokenize with now. */
export interface IndexKeySnapshot {
  /** New index rows are made with this key. */
  readonly written: IndexKey;
  /** Queries look for tokens under each of these (the written key first). */
  readonly searched: readonly IndexKey[];
}

/** Runs a key-manager call (through the `key-manager` breaker in the server). */
export type KeyCall = <T>(call: () => Promise<T>) => Promise<T>;

const direct: KeyCall = (call) => call();

/** A breaker's `run` as a KeyCall. */
export function throughBreaker(breaker: Breaker): KeyCall {
  return (call) => breaker.run(call);
}

/** Creates a fresh index key, wrapped for storage; the raw bytes are wiped once the KeyObject exists. */
export async function createIndexKey(
  wrapper: KeyWrapper,
  run: KeyCall = direct,
  now: () => number = Date.now,
): Promise<Omit<StoredIndexKey, 'state'>> {
  const raw = randomBytes(indexKeyBytes);
  try {
    const wrapped = await run(() => wrapper.wrap(raw));
    return {
      id: randomBytes(indexKeyIdBytes).toString('hex'),
      kekId: wrapped.kekId,
      wrapped: wrapped.wrapped,
      createdAt: new Date(now()).toISOString(),
    };
  } finally {
    raw.fill(0);
  }
}

/** Unwraps a stored index key into a KeyObject; the raw bytes are wiped. */
export async function unwrapIndexKey(
  stored: StoredIndexKey | Omit<StoredIndexKey, 'state'>,
  wrapper: KeyWrapper,
  run: KeyCall = direct,
): Promise<IndexKey> {
  const raw = await run(() => wrapper.unwrap({ kekId: stored.kekId, wrapped: stored.wrapped }));
  try {
    return { id: stored.id, key: createSecretKey(raw) };
  } finally {
    raw.fill(0);
  }
}

/** Options of {@link openIndexKeyRing}. */
export interface IndexKeyRingOptions {
  readonly store: IndexKeyStore;
  readonly wrapper: KeyWrapper;
  /** Wrap and unwrap calls run through it (the `key-manager` breaker: timeouts, then 503). */
  readonly run?: KeyCall;
  /** Background refresh period; default {@link indexKeyRefreshMs}. */
  readonly refreshMs?: number;
  /** Told when a background refresh fails (the last snapshot stays in use). */
  readonly onRefreshError?: (error: unknown) => void;
}

/** The index keys of one process. */
export interface IndexKeyRing {
  /** The keys now (synchronous: tokenizers call it on every write and search). */
  snapshot(): IndexKeySnapshot;
  /** Re-reads the store now (also done every `refreshMs`). */
  refresh(): Promise<IndexKeySnapshot>;
  /** Stops the background refresh. */
  close(): void;
}

/**
 * Loads the index keys, creating the first one (once, across processes) when
 * there is none, and refreshes them every `refreshMs` until closed.
 */
export async function openIndexKeyRing(options: IndexKeyRingOptions): Promise<IndexKeyRing> {
  const { store, wrapper } = options;
  const run = options.run ?? direct;
  const unwrapped = new Map<string, KeyObject>();
  let current: IndexKeySnapshot | undefined;
  let loading: Promise<IndexKeySnapshot> | undefined;

  async function keyOf(stored: StoredIndexKey): Promise<IndexKey> {
    const known = unwrapped.get(stored.id);
    if (known !== undefined) return { id: stored.id, key: known };
    const key = await unwrapIndexKey(stored, wrapper, run);
    unwrapped.set(stored.id, key.key);
    return key;
  }

  async function load(): Promise<IndexKeySnapshot> {
    let keys = await store.list();
    if (!keys.some((key) => key.state === 'written')) {
      await store.insertFirstIfAbsent(await createIndexKey(wrapper, run));
      keys = await store.list();
    }
    const live = keys.filter((key) => key.state !== 'retired');
    const written = live.find((key) => key.state === 'written');
    if (written === undefined) throw new Error('no written index key');
    const searched = [written, ...live.filter((key) => key.state === 'searched')];
    const snapshot = { written: await keyOf(written), searched: await Promise.all(searched.map(keyOf)) };
    // Retired keys leave memory.
    for (const id of unwrapped.keys()) if (!live.some((key) => key.id === id)) unwrapped.delete(id);
    current = snapshot;
    return snapshot;
  }

  function refresh(): Promise<IndexKeySnapshot> {
    loading ??= load().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  await refresh();
  const timer = setInterval(() => {
    refresh().catch((error: unknown) => {
      options.onRefreshError?.(error);
    });
  }, options.refreshMs ?? indexKeyRefreshMs);
  timer.unref();
  return {
    snapshot() {
      if (current === undefined) throw new Error('index keys not loaded');
      return current;
    },
    refresh,
    close() {
      clearInterval(timer);
      unwrapped.clear();
    },
  };
}
