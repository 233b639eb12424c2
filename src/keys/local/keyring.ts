/**
 * The keyring document of the local key manager and the key material it
 * holds: what is written to disk, and what lives in memory after loading.
 */
import { CaduceusError } from '../../errors/index.js';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  sign as cryptoSign,
  constants,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import type { KeyPurpose, SigningAlgorithm } from '../ports.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Every purpose a keyring holds keys for; a keyring without one of them is refused. */
export const keyPurposes: readonly KeyPurpose[] = ['token-signing', 'audit-signing'];

const algorithms: readonly SigningAlgorithm[] = ['ES256', 'PS256', 'RS256'];

/** One key as stored on disk: the private key as PKCS#8 PEM (the public key derives from it). */
export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** ISO 8601 instant the key was generated. */
  readonly createdAt: string;
  readonly privateKeyPem: string;
}

/** The keyring file's JSON: per purpose, keys newest first (the first one signs). */
export interface KeyringDocument {
  readonly version: 1;
  readonly purposes: Readonly<Record<KeyPurpose, readonly StoredKey[]>>;
}

/** One key in memory: KeyObjects made once at load, never per signature. */
export interface LoadedKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Every purpose's loaded keys, newest first. */
export type LoadedKeyring = Readonly<Record<KeyPurpose, readonly LoadedKey[]>>;

/** Thrown when the keyring file is unsafe or malformed; the message never names the path or key bytes. */
export class KeyringError extends CaduceusError {
  override readonly name = 'KeyringError';
  readonly code = 'KEYRING_UNUSABLE';
  readonly operatorSafe = true;
}

/** RFC 7638 thumbprint of the public key: the kid, so a kid names exactly one key. */
export async function keyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({ format: 'jwk' }), 'sha256');
}

async function generatePrivateKey(alg: SigningAlgorithm): Promise<KeyObject> {
  switch (alg) {
    case 'ES256':
      return (await generateKeyPairAsync('ec', { namedCurve: 'P-256' })).privateKey;
    case 'PS256':
    case 'RS256':
      // NIST SP 800-57 Part 1: 3072-bit RSA for keys used beyond 2030.
      return (await generateKeyPairAsync('rsa', { modulusLength: 3072 })).privateKey;
  }
}

/** A fresh key of the algorithm (ES256 by default: RFC 7518 §3.4, P-256). */
export async function generateStoredKey(alg: SigningAlgorithm, now: Date): Promise<StoredKey> {
  const privateKey = await generatePrivateKey(alg);
  const kid = await keyId(createPublicKey(privateKey));
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { kid, alg, createdAt: now.toISOString(), privateKeyPem };
}

function expectedKeyType(alg: SigningAlgorithm): string {
  return alg === 'ES256' ? 'ec' : 'rsa';
}

async function loadKey(stored: StoredKey): Promise<LoadedKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: stored.privateKeyPem, format: 'pem' });
  } catch {
    throw new KeyringError('The keyring holds a private key that cannot be read');
  }
  if (
    privateKey.asymmetricKeyType !== expectedKeyType(stored.alg) ||
    (stored.alg === 'ES256' && privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
  ) {
    throw new KeyringError('The keyring holds a key that does not match its algorithm');
  }
  const publicKey = createPublicKey(privateKey);
  // The kid is a thumbprint: recomputing it catches a key swapped or corrupted at rest.
  if ((await keyId(publicKey)) !== stored.kid)
    throw new KeyringError('The keyring holds a key whose kid does not match it');
  return { kid: stored.kid, alg: stored.alg, privateKey, publicKey };
}

/** Turns every stored key into KeyObjects, once. */
export async function loadKeyring(document: KeyringDocument): Promise<LoadedKeyring> {
  const entries = await Promise.all(
    keyPurposes.map(async (purpose) => {
      return [purpose, await Promise.all(document.purposes[purpose].map(loadKey))] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<KeyPurpose, LoadedKey[]>;
}

function isStoredKey(value: unknown): value is StoredKey {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  return (
    typeof key.kid === 'string' &&
    key.kid !== '' &&
    typeof key.alg === 'string' &&
    (algorithms as readonly string[]).includes(key.alg) &&
    typeof key.createdAt === 'string' &&
    typeof key.privateKeyPem === 'string'
  );
}

/** Validates the parsed JSON of a keyring file. */
export function parseKeyringDocument(text: string): KeyringDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyringError('The keyring file is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw new KeyringError('The keyring file is malformed');
  const document = value as { version?: unknown; purposes?: unknown };
  if (document.version !== 1) throw new KeyringError('The keyring file has an unsupported version');
  if (typeof document.purposes !== 'object' || document.purposes === null)
    throw new KeyringError('The keyring file is malformed');
  const purposes = document.purposes as Record<string, unknown>;
  for (const purpose of keyPurposes) {
    const keys = purposes[purpose];
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isStoredKey)) {
      throw new KeyringError(`The keyring file has no valid keys for ${purpose}`);
    }
  }
  return value as KeyringDocument;
}

/** A new keyring with one fresh key per purpose. */
export async function newKeyringDocument(alg: SigningAlgorithm, now: Date): Promise<KeyringDocument> {
  const [tokenSigning, auditSigning] = await Promise.all([generateStoredKey(alg, now), generateStoredKey(alg, now)]);
  return { version: 1, purposes: { 'token-signing': [tokenSigning], 'audit-signing': [auditSigning] } };
}

/**
 * A JWS signature (RFC 7515) in the algorithm's wire format: ECDSA as raw
 * r||s (RFC 7518 §3.4), not DER; PSS with a salt as long as the hash (§3.5).
 */
export function signWith(key: LoadedKey, data: Uint8Array): Uint8Array {
  switch (key.alg) {
    case 'ES256':
      return cryptoSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    case 'PS256':
      return cryptoSign('sha256', data, {
        key: key.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    case 'RS256':
      return cryptoSign('sha256', data, key.privateKey);
  }
}
