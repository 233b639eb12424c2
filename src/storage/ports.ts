/**
 * Storage ports (DESIGN.md "Ports and adapters"). Each interface has a SQLite
 * and a PostgreSQL adapter, and test/storage/contract.ts runs against both.
 * Bodies cross this boundary already sealed: no adapter ever sees plaintext
 * when encryption is on.
 */
import type { Alert } from './alerts.js';
import type { OAuthClientStore, OidcStateStore } from './oidc-ports.js';
import type { MfaFactorStore } from './mfa-ports.js';
import type { UserStore } from './user-ports.js';
import type { CareTeamStore } from './care-team-ports.js';

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

/** Stored security alerts (src/storage/alerts.ts): no PHI by design, kept as JSON beside the audit log. */
export interface AlertStore {
  /** Stores one alert; storing the same id again is a no-op (a retried delivery is not a second alert). */
  append(alert: Alert): Promise<void>;
  /** Alerts matching every filter, newest first (time, then id, descending), strictly after `after`. */
  list(
    query: AlertFilter & { readonly after?: { readonly time: string; readonly id: string }; readonly limit: number },
  ): Promise<Alert[]>;
}

export type {
  StoredDataKey,
  DataKeyStore,
  VersionRef,
  ScannedBody,
  SealedBodyStore,
  StoredIndexKey,
  IndexRotationProgress,
  IndexKeyStore,
} from './key-ports.js';
import type { DataKeyStore, SealedBodyStore, IndexKeyStore } from './key-ports.js';

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
  /** Which patients each clinician, nurse or device reaches (src/access/care-team/, docs/access-control.md). */
  readonly careTeam: CareTeamStore;
  readonly sealedBodies: SealedBodyStore;
  /** Applies pending migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
