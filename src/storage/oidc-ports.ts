/**
 * Storage ports of the authorization server (DESIGN.md "OIDC provider
 * storage"): the state oidc-provider keeps (sessions, grants, codes, refresh
 * tokens, interactions, client-assertion replay cache) and the registered
 * OAuth clients. Each has a SQLite and a PostgreSQL adapter; the contract
 * suite test/auth/oidc/store-contract.ts runs against both.
 */

/** One record of provider state, keyed by the SHA-256 of its id: a stolen table yields no usable token. */
export interface OidcStateWrite {
  /** oidc-provider model name: `Session`, `Grant`, `AuthorizationCode`, `RefreshToken`, `Interaction`, `ReplayDetection`, … */
  readonly model: string;
  /** base64url SHA-256 of the record's id (for codes and refresh tokens, of the token value). */
  readonly key: string;
  /** The model's JSON payload, with the token value removed where the id is a bearer secret. */
  readonly payload: string;
  readonly grantId: string | null;
  /** The `sub` the record belongs to, for revocation by user. */
  readonly accountId: string | null;
  readonly clientId: string | null;
  /** base64url SHA-256 of the session `uid`, for `Session` records. */
  readonly uidKey: string | null;
  /** Milliseconds since the epoch; the record is gone (not found) from then on. */
  readonly expiresAt: number;
}

/** A stored record as read back. */
export interface OidcStateRecord {
  readonly payload: string;
  /** Milliseconds since the epoch of the one successful `consume`, or null. */
  readonly consumedAt: number | null;
}

/** The grants, accounts and clients affected by a bulk revocation. */
export interface RevokedGrants {
  /** Every distinct grant id whose records were deleted. */
  readonly grantIds: readonly string[];
  /** How many records were deleted. */
  readonly records: number;
}

/** Provider state with expiry; every write is one atomic statement. */
export interface OidcStateStore {
  /** Inserts or replaces (oidc-provider re-saves sessions and grants); keeps `consumedAt` of an existing row. */
  upsert(write: OidcStateWrite): Promise<void>;
  /** Atomic insert only when no unexpired record has the key; false when one exists (replay detection). */
  insertIfAbsent(write: OidcStateWrite): Promise<boolean>;
  /** The unexpired record, or undefined. */
  find(model: string, key: string): Promise<OidcStateRecord | undefined>;
  /** The unexpired record whose `uidKey` matches, or undefined. */
  findByUid(model: string, uidKey: string): Promise<OidcStateRecord | undefined>;
  /**
   * Compare-and-set: marks the unexpired record consumed only if it is not
   * already. Exactly one of any number of concurrent callers, in any
   * process, gets true (a code or refresh token is redeemed once).
   */
  consume(model: string, key: string, at: number): Promise<boolean>;
  destroy(model: string, key: string): Promise<void>;
  /** Deletes every record of the grant, whatever its model. */
  revokeByGrantId(grantId: string): Promise<number>;
  /** Deletes every record of the account (all its grants and sessions); returns the grants it ended. */
  revokeByAccount(accountId: string): Promise<RevokedGrants>;
  /** Deletes every record of the client; returns the grants it ended. */
  revokeByClient(clientId: string): Promise<RevokedGrants>;
  /** Removes expired records; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

/** An OAuth client as registered by an operator. */
export interface StoredClient {
  readonly clientId: string;
  /** oidc-provider client metadata as JSON, never containing a secret. */
  readonly metadata: string;
  /** base64url SHA-256 of the client secret (client_secret_basic), or null. */
  readonly secretHash: string | null;
  readonly status: 'active' | 'disabled';
  /** ISO 8601 instants. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Registered OAuth clients. */
export interface OAuthClientStore {
  /** `duplicate` when the client id is taken. */
  create(client: StoredClient): Promise<'created' | 'duplicate'>;
  get(clientId: string): Promise<StoredClient | undefined>;
  /** Every client in ascending client-id order. */
  list(): Promise<StoredClient[]>;
  /** False when there is no such client. */
  setStatus(clientId: string, status: StoredClient['status'], updatedAt: string): Promise<boolean>;
}
