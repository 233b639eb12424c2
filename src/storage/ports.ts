/**
 * Storage ports (DESIGN.md "Ports and adapters"). Each interface has a SQLite
 * and a PostgreSQL adapter, and test/storage/contract.ts runs against both.
 * Bodies cross this boundary already sealed: no adapter ever sees plaintext
 * when encryption is on.
 */
import type { Alert } from '../monitoring/alerts.js';
import type { OAuthClientStore, OidcStateStore } from './oidc-ports.js';
import type { MfaFactorStore } from '../auth/mfa/ports.js';
import type { UserStore } from '../auth/users/ports.js';
import type { CareTeamStore } from '../auth/care-team/store.js';

/** One stored version of a resource, exactly as committed. */
export interface StoredVersion {
  readonly type: string;
  readonly id: string;
  /** 1, 2, 3, … per resource. */
  readonly version: number;
  /** ISO 8601 instant with milliseconds, UTC. */
  readonly lastUpdated: string;
  /** True for a DELETE tombstone (body is then null). */
  readonly deleted: boolean;
  /** The sealed body; null for a tombstone. */
  readonly body: Uint8Array | null;
}

/** One search-index row: a parameter name and an opaque token (plaintext or blind). */
export interface IndexEntry {
  readonly param: string;
  readonly token: string;
}

/** A new version to commit atomically, if the current version is still `expectedVersion`. */
export interface VersionWrite {
  readonly type: string;
  readonly id: string;
  /** 0 when the resource must not exist yet (create). */
  readonly expectedVersion: number;
  readonly version: number;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly body: Uint8Array | null;
  /** Replaces every index row of this resource; empty for a tombstone. */
  readonly index: readonly IndexEntry[];
}

/** The outcome of a conditional commit. */
export type CommitResult = 'committed' | 'conflict';

/**
 * A search: every clause must match (AND); within a clause any token may
 * match (OR). Tokens are compared for equality only.
 */
export interface SearchQuery {
  readonly type: string;
  readonly clauses: readonly { readonly param: string; readonly tokens: readonly string[] }[];
  /** Return ids strictly greater than this one (keyset pagination). */
  readonly after?: string;
  readonly limit: number;
}

/** Versioned resource storage. */
export interface ResourceStore {
  /** The current version (a tombstone included), or undefined if never created. */
  readCurrent(type: string, id: string): Promise<StoredVersion | undefined>;
  /** One version by number, or undefined. */
  readVersion(type: string, id: string, version: number): Promise<StoredVersion | undefined>;
  /** Versions newest first; `before` pages to versions lower than it. */
  history(type: string, id: string, options: { before?: number; limit: number }): Promise<StoredVersion[]>;
  /**
   * Inserts the version, moves the current pointer and replaces the index rows
   * in one transaction, only if the current version equals expectedVersion.
   */
  commit(write: VersionWrite): Promise<CommitResult>;
  /** Ids of current, non-deleted resources matching every clause, ascending. */
  search(query: SearchQuery): Promise<string[]>;
}

/** A key-value store with expiry, for token state, replay caches and revocation. */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  /** Several keys in one round trip; absent or expired keys are left out. */
  getMany(keys: readonly string[]): Promise<Map<string, string>>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Atomic: sets only when absent or expired; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * Atomic counter in one write: 1 when the key is absent, expired or not a
   * whole number, else its value plus one; each call restarts the TTL. Of n
   * concurrent callers, each gets a different one of the n next counts.
   */
  increment(key: string, ttlMs: number): Promise<number>;
  /** Atomic get-and-delete: exactly one of two concurrent callers gets the value. */
  take(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
  /** Removes expired rows; returns how many. */
  purgeExpired(): Promise<number>;
}

/** One row of an audit hash chain, as stored. */
export interface AuditRow {
  readonly writerId: string;
  /** 1, 2, 3, … per writer, without gaps. */
  readonly seq: number;
  /** ISO 8601 instant. */
  readonly time: string;
  /** 'event' for an audit event, 'checkpoint' for a signed checkpoint. */
  readonly kind: 'event' | 'checkpoint';
  /** Canonical JSON of the event or checkpoint. */
  readonly payload: string;
  /** Hex SHA-256 of the previous row of this writer ('' for seq 1). */
  readonly prevHash: string;
  /** Hex SHA-256 over prevHash and payload. */
  readonly hash: string;
}

/** Append-only audit storage: one hash chain per writer. */
export interface AuditStore {
  /** Appends rows in one transaction (group commit); all or none. */
  append(rows: readonly AuditRow[]): Promise<void>;
  /** Rows in (writerId, seq) order, in pages. */
  read(options: { writerId?: string; afterSeq?: number; limit: number }): Promise<AuditRow[]>;
  /** Every writer id with its row count and highest seq. */
  writers(): Promise<{ writerId: string; count: number; maxSeq: number }[]>;
}

/** Equality filters over stored audit events (docs/audit.md "Querying"); absent means any. */
export interface AuditEventFilter {
  /** ISO 8601 instants (`toISOString` form): `since` inclusive, `until` exclusive. */
  readonly since?: string;
  readonly until?: string;
  readonly subject?: string;
  readonly client?: string;
  readonly role?: string;
  readonly sourceIp?: string;
  readonly interaction?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly status?: number;
  readonly requestId?: string;
}

/** A place in the newest-first order of audit events: (time, writerId, seq), descending. */
export interface AuditPosition {
  readonly time: string;
  readonly writerId: string;
  readonly seq: number;
}

/** Read-only search of audit events (kind 'event' rows only), newest first, keyset-paged. */
export interface AuditEventSearch {
  /** Event rows matching every filter, strictly after `after` in newest-first order. */
  search(query: AuditEventFilter & { readonly after?: AuditPosition; readonly limit: number }): Promise<AuditRow[]>;
}

/** Filters over stored alerts; `since` inclusive, `until` exclusive. */
export interface AlertFilter {
  readonly kind?: string;
  readonly severity?: string;
  readonly since?: string;
  readonly until?: string;
}

/** Stored security alerts (src/monitoring/alerts.ts): no PHI by design, kept as JSON beside the audit log. */
export interface AlertStore {
  /** Stores one alert; storing the same id again is a no-op (a retried delivery is not a second alert). */
  append(alert: Alert): Promise<void>;
  /** Alerts matching every filter, newest first (time, then id, descending), strictly after `after`. */
  list(query: AlertFilter & { readonly after?: { readonly time: string; readonly id: string }; readonly limit: number }): Promise<Alert[]>;
}

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
  rewrap(id: string, expected: { readonly kekId: string; readonly wrapped: Uint8Array }, next: { readonly kekId: string; readonly wrapped: Uint8Array }): Promise<boolean>;
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
  scan(options: { readonly after?: VersionRef; readonly skipPrefix?: Uint8Array; readonly limit: number }): Promise<ScannedBody[]>;
  /** Replaces one version's body only while it is still byte-for-byte `expected`; false when it is not (or the version is gone). */
  replace(ref: VersionRef, expected: Uint8Array, body: Uint8Array): Promise<boolean>;
  /** `replace` for each item, in one transaction (one commit per batch, not per version); the results in order. */
  replaceAll(items: readonly { readonly ref: VersionRef; readonly expected: Uint8Array; readonly body: Uint8Array }[]): Promise<boolean[]>;
  /**
   * Counts the non-null bodies that begin with `prefix`, grouped by the hex
   * of their bytes [offset, offset + length) (a sealed body's data-key id),
   * and every non-null body in `total`.
   */
  count(options: { readonly prefix: Uint8Array; readonly offset: number; readonly length: number }): Promise<{ total: number; bySlice: Map<string, number> }>;
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
  rewrap(id: string, expected: { readonly kekId: string; readonly wrapped: Uint8Array }, next: { readonly kekId: string; readonly wrapped: Uint8Array }): Promise<boolean>;
}

/** One database: the adapters of every port above, migrated and ready. */
export interface Database {
  readonly kind: 'sqlite' | 'postgres';
  readonly resources: ResourceStore;
  readonly kv: KeyValueStore;
  readonly audit: AuditStore & AuditEventSearch;
  readonly alerts: AlertStore;
  readonly dataKeys: DataKeyStore;
  /** Authorization-server state and registered OAuth clients (src/storage/oidc-ports.ts). */
  readonly oidc: OidcStateStore;
  readonly clients: OAuthClientStore;
  readonly indexKeys: IndexKeyStore;
  /** The user directory's accounts (src/auth/users/, docs/users.md). */
  readonly users: UserStore;
  /** Second factors and recovery-code hashes (src/auth/mfa/, docs/login-and-mfa.md). */
  readonly mfaFactors: MfaFactorStore;
  /** Which patients each clinician, nurse or device reaches (src/auth/care-team/, docs/access-control.md). */
  readonly careTeam: CareTeamStore;
  readonly sealedBodies: SealedBodyStore;
  /** Applies pending migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
