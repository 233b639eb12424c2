/**
 * The key-protection ports (docs/key-management.md): wrapped data keys,
 * the sealed bodies a data-key rotation re-encrypts, and the blind-index
 * keys with the index upkeep their rotation needs. Same adapters as the
 * other storage ports; ports.ts re-exports them.
 */
import type { IndexEntry } from './ports.js';

/** A data key (DEK) as stored: only ever wrapped by a key-encryption key (docs/key-management.md). */
export interface StoredDataKey {
  readonly id: string;
  /** The key-encryption key that wrapped it. */
  readonly kekId: string;
  readonly wrapped: Uint8Array;
  /** ISO 8601 instant. */
  readonly createdAt: string;
  /** `current` seals new writes (one key at a time); `retired` only opens what it sealed. */
  readonly state: 'current' | 'retired';
}

/** Wrapped data keys of envelope encryption. */
export interface DataKeyStore {
  /** The current data key, or undefined before the first one. */
  current(): Promise<StoredDataKey | undefined>;
  get(id: string): Promise<StoredDataKey | undefined>;
  /**
   * Atomic: stores the key as current only if there is no current key yet.
   * Returns the current key afterwards: this one, or the one another process stored first.
   */
  insertCurrentIfAbsent(key: Omit<StoredDataKey, 'state'>): Promise<StoredDataKey>;
  /** Every data key, oldest first. */
  list(): Promise<StoredDataKey[]>;
  /**
   * Atomic (data-key rotation): retires the current key, only if it is
   * `expectedCurrentId` (undefined: only if there is none), and stores `key`
   * as current. False when the current key was another one: nothing changed.
   */
  rotateCurrent(key: Omit<StoredDataKey, 'state'>, expectedCurrentId: string | undefined): Promise<boolean>;
  /** Compare-and-set (KEK rotation): replaces a key's wrapping only while it is still exactly `expected`; false otherwise. */
  rewrap(
    id: string,
    expected: { readonly kekId: string; readonly wrapped: Uint8Array },
    next: { readonly kekId: string; readonly wrapped: Uint8Array },
  ): Promise<boolean>;
}

/** One stored version, by name. */
export interface VersionRef {
  readonly type: string;
  readonly id: string;
  readonly version: number;
}

/** A scanned version: its sealed body, or null for a tombstone or a body the scan was told to skip. */
export interface ScannedBody extends VersionRef {
  readonly body: Uint8Array | null;
}

/**
 * Every stored version's body (current and historical) as opaque bytes, for
 * data-key rotation (docs/key-management.md "Rotation"): walked in bounded
 * pages and re-sealed one version at a time with a compare-and-set.
 */
export interface SealedBodyStore {
  /**
   * Up to `limit` versions in (type, id, version) order, strictly after
   * `after`. Bodies beginning with `skipPrefix` come back as null, so a page
   * costs `limit` rows however few still need work.
   */
  scan(options: {
    readonly after?: VersionRef;
    readonly skipPrefix?: Uint8Array;
    readonly limit: number;
  }): Promise<ScannedBody[]>;
  /** Replaces one version's body only while it is still byte-for-byte `expected`; false when it is not (or the version is gone). */
  replace(ref: VersionRef, expected: Uint8Array, body: Uint8Array): Promise<boolean>;
  /** `replace` for each item, in one transaction (one commit per batch, not per version); the results in order. */
  replaceAll(
    items: readonly { readonly ref: VersionRef; readonly expected: Uint8Array; readonly body: Uint8Array }[],
  ): Promise<boolean[]>;
  /**
   * Counts the non-null bodies that begin with `prefix`, grouped by the hex
   * of their bytes [offset, offset + length) (a sealed body's data-key id),
   * and every non-null body in `total`.
   */
  count(options: {
    readonly prefix: Uint8Array;
    readonly offset: number;
    readonly length: number;
  }): Promise<{ total: number; bySlice: Map<string, number> }>;
}

/**
 * An index key as stored (docs/blind-indexes.md): only ever wrapped by a
 * key-encryption key. `written`: new index rows are made with it (one key at
 * a time); `searched`: queries still look for its tokens (a key being rolled
 * in or out during a rotation); `retired`: no longer used.
 */
export interface StoredIndexKey {
  readonly id: string;
  readonly kekId: string;
  readonly wrapped: Uint8Array;
  /** ISO 8601 instant. */
  readonly createdAt: string;
  readonly state: 'written' | 'searched' | 'retired';
}

/** How far an index-key rotation has re-indexed: resources of `type` up to id `after`. */
export interface IndexRotationProgress {
  readonly type: string;
  readonly after: string;
  /** Resources re-indexed so far, over every type. */
  readonly done: number;
}

/** Wrapped index keys and the index upkeep an index-key rotation needs (src/keys/blind-index/). */
export interface IndexKeyStore {
  /** Every index key, oldest first. */
  list(): Promise<StoredIndexKey[]>;
  /** Atomic: stores the key as `written` only if no key is; returns the written key afterwards. */
  insertFirstIfAbsent(key: Omit<StoredIndexKey, 'state'>): Promise<StoredIndexKey>;
  /** Atomic: stores the key as `searched` only if no key is `searched` yet; returns the searched key afterwards. */
  insertIncomingIfAbsent(key: Omit<StoredIndexKey, 'state'>): Promise<StoredIndexKey>;
  /** Atomic: the `searched` key `id` becomes `written`, the written key `searched`. */
  switchWrites(id: string): Promise<void>;
  /** A `searched` key becomes `retired` and its progress record is dropped. */
  retire(id: string): Promise<void>;
  progress(id: string): Promise<IndexRotationProgress | undefined>;
  saveProgress(id: string, progress: IndexRotationProgress): Promise<void>;
  /**
   * Replaces every index row of a resource, only if `version` is still its
   * current, non-deleted version; false (nothing written) when a newer write came first.
   */
  replaceIndex(type: string, id: string, version: number, index: readonly IndexEntry[]): Promise<boolean>;
  /** Ids (ascending, after `after`) of resources with an index row of `param` whose token starts with `prefix`. */
  idsWithTokenPrefix(type: string, param: string, prefix: string, after: string, limit: number): Promise<string[]>;
  /** How many current, non-deleted resources of the type there are. */
  countCurrent(type: string): Promise<number>;
  /** Compare-and-set (KEK rotation), as DataKeyStore.rewrap: replaces a key's wrapping only while it is still exactly `expected`. */
  rewrap(
    id: string,
    expected: { readonly kekId: string; readonly wrapped: Uint8Array },
    next: { readonly kekId: string; readonly wrapped: Uint8Array },
  ): Promise<boolean>;
}
