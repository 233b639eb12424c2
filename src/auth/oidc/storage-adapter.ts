/**
 * oidc-provider's storage adapter (its `adapter` option, one instance per
 * model) over our OidcStateStore port, so every piece of provider state lives
 * in SQLite or PostgreSQL (DESIGN.md "OIDC provider storage"). Three rules
 * are enforced here rather than trusted to the library:
 * - records are keyed by SHA-256 of their id, and a bearer secret (a code, a
 *   refresh token) is removed from the stored payload: the table never holds
 *   a usable token, so a leaked database or backup leaks none;
 * - `consume` is a compare-and-set: of two processes redeeming one code or
 *   refresh token, the loser is refused and the grant revoked (RFC 9700
 *   §4.14.2: a replay is treated as theft);
 * - client-assertion `jti`s are inserted only if absent (RFC 7523 §3 item 7),
 *   one statement, so a replay racing the original is refused too.
 */
import { hash } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OidcStateStore, OidcStateWrite } from '../../storage/oidc-ports.js';

/** Models whose id is itself a bearer credential: stored without it. */
const secretIdModels: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'RegistrationAccessToken',
  'InitialAccessToken',
]);

/** Raised when a compare-and-set consume loses or a client assertion is replayed; the provider maps it to an OAuth error. */
export type ReplayKind = 'code_or_token_replayed' | 'assertion_replayed';

/** What the adapter reports and needs beyond the store. */
export interface StorageAdapterHooks {
  /** A code or refresh token was redeemed twice (a lost compare-and-set): revoke the grant everywhere. */
  onConsumeRace(model: string, grantId: string | null): Promise<void>;
  /** Builds the error the provider answers with (invalid_grant / invalid_client), from oidc-provider's error classes. */
  replayError(kind: ReplayKind): Error;
}

/** base64url SHA-256: the storage key of an id, uid or secret. */
export function storageKey(value: string): string {
  return hash('sha256', value, 'base64url');
}

function stringField(payload: AdapterPayload, name: string): string | null {
  const value = (payload as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** oidc-provider's Adapter for one model, over the OidcStateStore port. */
export class OidcStorageAdapter implements Adapter {
  readonly #model: string;
  readonly #store: OidcStateStore;
  readonly #hooks: StorageAdapterHooks;

  constructor(model: string, store: OidcStateStore, hooks: StorageAdapterHooks) {
    this.#model = model;
    this.#store = store;
    this.#hooks = hooks;
  }

  #write(id: string, payload: AdapterPayload, expiresIn: number): OidcStateWrite {
    const stored: Record<string, unknown> = { ...payload };
    if (secretIdModels.has(this.#model)) delete stored.jti;
    return {
      model: this.#model,
      key: storageKey(id),
      payload: JSON.stringify(stored),
      // A Grant record is its own grant: revoking the grant deletes it too.
      grantId: this.#model === 'Grant' ? id : stringField(payload, 'grantId'),
      accountId: stringField(payload, 'accountId'),
      clientId: stringField(payload, 'clientId'),
      uidKey: this.#model === 'Session' && typeof payload.uid === 'string' ? storageKey(payload.uid) : null,
      // oidc-provider gives seconds; records without a TTL (none here) would get a day.
      expiresAt: Date.now() + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 86_400) * 1000,
    };
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const write = this.#write(id, payload, expiresIn);
    if (this.#model !== 'ReplayDetection') {
      await this.#store.upsert(write);
      return;
    }
    // ReplayDetection.unique() finds, then saves: the insert-if-absent closes the gap between the two.
    if (!(await this.#store.insertIfAbsent(write))) throw this.#hooks.replayError('assertion_replayed');
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const record = await this.#store.find(this.#model, storageKey(id));
    if (record === undefined) return undefined;
    return this.#restore(record.payload, record.consumedAt, id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const record = await this.#store.findByUid(this.#model, storageKey(uid));
    return record === undefined ? undefined : this.#restore(record.payload, record.consumedAt, undefined);
  }

  /** Device flow is off (docs/oauth.md): no user codes exist. */
  findByUserCode(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async consume(id: string): Promise<void> {
    const key = storageKey(id);
    if (await this.#store.consume(this.#model, key, Date.now())) return;
    // Lost the compare-and-set: another request (perhaps another process) redeemed it first.
    const record = await this.#store.find(this.#model, key);
    const grantId = record === undefined ? null : stringField(JSON.parse(record.payload) as AdapterPayload, 'grantId');
    await this.#hooks.onConsumeRace(this.#model, grantId);
    throw this.#hooks.replayError('code_or_token_replayed');
  }

  async destroy(id: string): Promise<void> {
    await this.#store.destroy(this.#model, storageKey(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#store.revokeByGrantId(grantId);
  }

  #restore(json: string, consumedAt: number | null, id: string | undefined): AdapterPayload {
    const payload = JSON.parse(json) as AdapterPayload;
    return {
      ...payload,
      ...(id !== undefined && secretIdModels.has(this.#model) && { jti: id }),
      // oidc-provider reads `consumed` (seconds) to detect a second use.
      ...(consumedAt !== null && { consumed: Math.floor(consumedAt / 1000) }),
    };
  }
}
