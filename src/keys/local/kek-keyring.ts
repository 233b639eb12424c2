/**
 * The key-encryption keys (KEKs) of the `local` key wrapper: their keyring
 * document (always sealed under the master key on disk) and the AES-256-GCM
 * wrapping of data keys under them (docs/key-management.md "Wrapped data keys").
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { KeyringError } from './keyring.js';

/** One KEK as stored (inside the sealed file): 32 random bytes, base64url. */
export interface StoredKek {
  readonly id: string;
  /** ISO 8601 instant it was created. */
  readonly createdAt: string;
  readonly key: string;
}

/** The plaintext of the sealed KEK keyring: KEKs newest first (the first one wraps). */
export interface KekDocument {
  readonly version: 1;
  readonly keks: readonly StoredKek[];
}

/** KEKs in memory: ids newest first, and their KeyObjects. */
export interface LoadedKeks {
  readonly ids: readonly string[];
  readonly keys: ReadonlyMap<string, KeyObject>;
}

const kekBytes = 32;
const dataKeyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;
const wrapFormatVersion = 1;
/** version (1) ‖ nonce (12) ‖ encrypted data key (32) ‖ tag (16): the pkcs11 adapter's layout too. */
const wrappedBytes = 1 + nonceBytes + dataKeyBytes + tagBytes;
/** `local-`, creation time in ms (13 digits, sorts as text), 32 random bits against two rotations in one millisecond. */
const kekIdPattern = /^local-\d{13}-[0-9a-f]{8}$/;

/** A new KEK with a fresh id. */
export function newKek(now: Date): StoredKek {
  const id = `local-${String(now.getTime()).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
  return { id, createdAt: now.toISOString(), key: randomBytes(kekBytes).toString('base64url') };
}

/** Validates the KEK keyring's JSON (already opened under the master key). */
export function parseKekDocument(text: string): KekDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyringError('The KEK keyring is not valid JSON');
  }
  const document = value as { version?: unknown; keks?: unknown };
  if (
    typeof value !== 'object' ||
    value === null ||
    document.version !== 1 ||
    !Array.isArray(document.keks) ||
    document.keks.length === 0
  ) {
    throw new KeyringError('The KEK keyring is malformed');
  }
  for (const kek of document.keks as unknown[]) {
    const entry = kek as Partial<Record<keyof StoredKek, unknown>>;
    if (
      typeof entry.id !== 'string' ||
      !kekIdPattern.test(entry.id) ||
      typeof entry.createdAt !== 'string' ||
      typeof entry.key !== 'string' ||
      Buffer.from(entry.key, 'base64url').length !== kekBytes
    ) {
      throw new KeyringError('The KEK keyring holds a malformed key');
    }
  }
  return value as KekDocument;
}

/** Turns the stored KEKs into KeyObjects, once per load. */
export function loadKeks(document: KekDocument): LoadedKeks {
  return {
    ids: document.keks.map((kek) => kek.id),
    keys: new Map(document.keks.map((kek) => [kek.id, createSecretKey(Buffer.from(kek.key, 'base64url'))])),
  };
}

/** AAD binds a wrapped key to the format and the KEK it names (the same string as the pkcs11 adapter's). */
function aadFor(kekId: string): Buffer {
  return Buffer.from(`caduceus/kek/v${wrapFormatVersion}/${kekId}`, 'utf8');
}

/** Wraps a 32-byte data key with AES-256-GCM under the KEK, with a fresh 96-bit nonce. */
export function wrapDataKey(kekId: string, kek: KeyObject, dataKey: Uint8Array): Uint8Array {
  if (dataKey.length !== dataKeyBytes) throw new RangeError('A data key must be 32 bytes');
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: tagBytes }).setAAD(aadFor(kekId));
  const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([Buffer.of(wrapFormatVersion), nonce, body, cipher.getAuthTag()]);
}

/** Unwraps what `wrapDataKey` made; any altered byte or another KEK's wrapping is refused. */
export function unwrapDataKey(kekId: string, kek: KeyObject, wrapped: Uint8Array): Uint8Array {
  const bytes = Buffer.from(wrapped);
  if (bytes.length !== wrappedBytes || bytes[0] !== wrapFormatVersion)
    throw new KeyringError('The wrapped data key is malformed');
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(1, 1 + nonceBytes), {
      authTagLength: tagBytes,
    })
      .setAAD(aadFor(kekId))
      .setAuthTag(bytes.subarray(wrappedBytes - tagBytes));
    return Buffer.concat([decipher.update(bytes.subarray(1 + nonceBytes, wrappedBytes - tagBytes)), decipher.final()]);
  } catch {
    throw new KeyringError('The wrapped data key failed its integrity check');
  }
}
