/**
 * Key-management port (DESIGN.md "Ports and adapters"): keys that may never
 * leave their keeper (node-oidc-provider's ExternalSigningKey pattern). The
 * local adapter keeps a keyring file; the PKCS#11 adapter (src/keys/pkcs11/)
 * keeps them in an HSM. Callers only ever get public keys.
 */
import type { KeyObject } from 'node:crypto';

/** What a key is for; each purpose has its own keys and rotation. */
export type KeyPurpose = 'token-signing' | 'audit-signing';

export type { SigningAlgorithm } from '../lib/signing-algorithm.js';
import type { SigningAlgorithm } from '../lib/signing-algorithm.js';

/** A public verification key. */
export interface PublicKeyInfo {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: KeyObject;
}

/** A JWS signature made by the key manager's current key of a purpose. */
export interface Signature {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** JWS-format signature bytes (raw r||s for ECDSA). */
  readonly signature: Uint8Array;
}

export interface KeyManager {
  /** The kid and algorithm the next `sign` of this purpose will use. */
  currentKey(purpose: KeyPurpose): Promise<{ kid: string; alg: SigningAlgorithm }>;
  /** Signs with the current key of the purpose. */
  sign(purpose: KeyPurpose, data: Uint8Array): Promise<Signature>;
  /** Every key of the purpose that may still verify, newest first. */
  publicKeys(purpose: KeyPurpose): Promise<PublicKeyInfo[]>;
  close(): Promise<void>;
}

/** A key manager that can add a new current key per purpose (`caduceus keys rotate --signing`); older keys still verify. Both adapters (local keyring, PKCS#11) have this shape. */
export interface RotatingKeyManager extends KeyManager {
  /** Adds a new key that signs from now on; older keys stay published. Persists before returning. */
  rotate(purpose: KeyPurpose): Promise<{ kid: string }>;
}

/** Binds a sealed body to its record (DESIGN.md "Data protection": AAD). */
export interface SealContext {
  readonly type: string;
  readonly id: string;
  readonly version: number;
}

/**
 * The asynchronous sealing seam every stored body passes through: AES-256-GCM
 * envelope encryption (src/keys/envelope/), or the identity sealer when
 * CADUCEUS_ENCRYPTION=off. Always called outside database transactions.
 */
export interface Sealer {
  seal(plaintext: Uint8Array, context: SealContext): Promise<Uint8Array>;
  open(sealed: Uint8Array, context: SealContext): Promise<Uint8Array>;
}

/** A data key wrapped by a key-encryption key (envelope encryption, DESIGN.md "Data protection"). */
export interface WrappedKey {
  /** The key-encryption key that wrapped it. */
  readonly kekId: string;
  readonly wrapped: Uint8Array;
}

/**
 * Key-encryption keys (KEKs) wrap and unwrap data keys. A KEK never leaves
 * its keeper (a keyring sealed by a master key, or a PKCS#11 HSM where it is
 * created sensitive and non-extractable); unwrapped data keys live only in
 * the caller's memory. Every adapter passes test/keys/contract-key-wrapper.ts.
 */
export interface KeyWrapper {
  /** The KEK the next `wrap` uses. */
  currentKekId(): Promise<string>;
  /** Wraps a 32-byte data key (AES-256) under the current KEK. */
  wrap(dataKey: Uint8Array): Promise<WrappedKey>;
  /** Unwraps with the KEK the wrapped key names; rejects when that KEK is unknown or the bytes were altered. */
  unwrap(wrapped: WrappedKey): Promise<Uint8Array>;
  /** Creates a KEK and makes it current; earlier KEKs still unwrap. Returns the new id. */
  rotate(): Promise<string>;
  /** Every KEK id that can still unwrap, newest first. */
  kekIds(): Promise<string[]>;
  close(): Promise<void>;
}
