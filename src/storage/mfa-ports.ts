/**
 * Second factors (docs/login-and-mfa.md): the stored factor record and the
 * MfaFactorStore port (SQLite and PostgreSQL adapters, one contract suite in
 * test/auth/login/factor-store.test.ts). Secrets never cross this port in
 * clear: a TOTP seed or a WebAuthn credential arrives sealed (factor-seal.ts),
 * and recovery codes arrive as hashes.
 */

/** The kinds of second factor: an RFC 6238 TOTP seed or a WebAuthn credential (passkey). */
export const factorKinds = ['totp', 'webauthn'] as const;
export type FactorKind = (typeof factorKinds)[number];

/** One enrolled factor, as stored. */
export interface StoredFactor {
  /** Server-assigned, opaque. */
  readonly id: string;
  readonly userId: string;
  readonly kind: FactorKind;
  /** The WebAuthn credential id (base64url, public: browsers send it in clear); null for TOTP. Unique. */
  readonly credentialId: string | null;
  /** The TOTP seed or the credential's public key and transports, sealed under a context bound to user and factor id. */
  readonly sealed: Uint8Array;
  /** The WebAuthn signature counter last seen (W3C WebAuthn §6.1.1); 0 for TOTP. */
  readonly signCount: number;
  /** ISO 8601 instants. */
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

/** What {@link MfaFactorStore.resetFactors} removed. */
export interface FactorReset {
  readonly factors: number;
  readonly recoveryCodes: number;
}

/** Persistence of second factors and recovery-code hashes. Every write is one atomic statement or transaction. */
export interface MfaFactorStore {
  /** The user's factors, oldest first. */
  listByUser(userId: string): Promise<StoredFactor[]>;
  /** The factor holding a WebAuthn credential id, or undefined. */
  findByCredentialId(credentialId: string): Promise<StoredFactor | undefined>;
  /** `duplicate` when the id or the credential id exists already. */
  insert(factor: StoredFactor): Promise<'created' | 'duplicate'>;
  /**
   * Compare-and-set after a successful use: stores `signCount` and the time
   * only while the stored count is still `expectedSignCount`, so two logins
   * racing with one cloned authenticator cannot both advance it.
   */
  recordUse(id: string, expectedSignCount: number, signCount: number, usedAt: string): Promise<boolean>;
  /** Replaces every recovery-code hash of the user (a new set invalidates the old one). */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], createdAt: string): Promise<void>;
  /** Atomic: deletes the hash if present; true for exactly one of two concurrent callers. */
  consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean>;
  /** Recovery codes the user has left. */
  countRecoveryCodes(userId: string): Promise<number>;
  /** Removes every factor and recovery code of the user (`caduceus user reset-mfa`), in one transaction. */
  resetFactors(userId: string): Promise<FactorReset>;
}
