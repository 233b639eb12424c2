/**
 * The master key of the local key manager (docs/key-management.md): 32
 * random bytes that seal every keyring file (signing keys, key-encryption
 * keys) with AES-256-GCM. It comes from a file or the environment; in
 * development only, a missing one is generated beside the data.
 */
import { CaduceusError } from '../../errors/index.js';
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { Logger } from 'pino';
import { fileErrorCause, systemErrorCode } from '../../lib/system-error.js';
import { KeyringError } from './keyring.js';
import { createSecretFile, readSecretFile } from './secret-file.js';

const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;
const sealedFormat = 'caduceus-sealed';

/** Thrown when the master key is missing, unreadable or malformed; names the setting, never the key. */
export class MasterKeyError extends CaduceusError {
  override readonly name = 'MasterKeyError';
  readonly code = 'MASTER_KEY_UNUSABLE';
  readonly operatorSafe = true;
}

/** The JSON a sealed file holds (docs/key-management.md "Sealed keyring files"). */
interface SealedDocument {
  readonly format: typeof sealedFormat;
  readonly version: 1;
  /** What the plaintext is ("signing-keyring", "kek-keyring"): bound into the AAD, so files cannot be swapped. */
  readonly purpose: string;
  readonly masterKeyId: string;
  readonly alg: 'A256GCM';
  readonly nonce: string;
  readonly ciphertext: string;
  readonly tag: string;
}

/** The master key in memory: a KeyObject that seals and opens text, and a public id naming it. */
export class MasterKey {
  readonly #key: KeyObject;
  /** A fingerprint (HMAC of a constant): tells which master key sealed a file without revealing it. */
  readonly id: string;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== keyBytes) throw new MasterKeyError('A master key must be 32 bytes');
    this.#key = createSecretKey(bytes);
    this.id = `mk-${createHmac('sha256', this.#key).update('caduceus master key id v1').digest('hex').slice(0, 16)}`;
  }

  #aad(purpose: string): Buffer {
    return Buffer.from(`caduceus/sealed/v1/${purpose}/${this.id}`, 'utf8');
  }

  /**
   * A secret of `length` bytes for one purpose (RFC 5869 HKDF-SHA-256): every
   * process holding this master key derives the same one, and none of them
   * reveals the master key or another purpose's secret.
   */
  derive(purpose: string, length: number): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `caduceus/derived/v1/${purpose}`, length));
  }

  /** Seals text with AES-256-GCM under a fresh 96-bit nonce; returns the JSON to write. */
  seal(purpose: string, plaintext: string): string {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: tagBytes }).setAAD(
      this.#aad(purpose),
    );
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const document: SealedDocument = {
      format: sealedFormat,
      version: 1,
      purpose,
      masterKeyId: this.id,
      alg: 'A256GCM',
      nonce: nonce.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
  }

  /** Opens what `seal` wrote for the same purpose; a different master key, purpose or any altered byte is refused. */
  open(purpose: string, text: string): string {
    const document = parseSealed(text);
    if (document === undefined) throw new KeyringError('The keyring file is not sealed');
    if (document.purpose !== purpose) throw new KeyringError('The sealed file holds a different kind of keyring');
    if (document.masterKeyId !== this.id) throw new KeyringError('The keyring was sealed under a different master key');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(document.nonce, 'base64url'), {
        authTagLength: tagBytes,
      })
        .setAAD(this.#aad(purpose))
        .setAuthTag(Buffer.from(document.tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(document.ciphertext, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new KeyringError('The sealed keyring failed its integrity check');
    }
  }
}

function parseSealed(text: string): SealedDocument | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== sealedFormat)
    return undefined;
  const document = value as Record<string, unknown>;
  const strings = ['purpose', 'masterKeyId', 'nonce', 'ciphertext', 'tag'].every(
    (field) => typeof document[field] === 'string',
  );
  if (document.version !== 1 || document.alg !== 'A256GCM' || !strings)
    throw new KeyringError('The sealed keyring is malformed or of an unsupported version');
  return value as SealedDocument;
}

/** True when the text is a sealed file (any version), false for a plaintext keyring. */
export function isSealedText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && (value as { format?: unknown }).format === sealedFormat;
  } catch {
    return false;
  }
}

/** Decodes 32 bytes given as 64 hex digits or as base64/base64url (43 characters, optional `=`); undefined otherwise. */
export function decodeMasterKey(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(value) || /^[A-Za-z0-9_-]{43}$/.test(value)) {
    const bytes = Buffer.from(
      value.replace(/=$/, ''),
      value.includes('+') || value.includes('/') ? 'base64' : 'base64url',
    );
    return bytes.length === keyBytes ? bytes : undefined;
  }
  return undefined;
}

/** Where the master key comes from (config.keys.masterKey). */
export interface MasterKeySettings {
  /** CADUCEUS_MASTER_KEY_FILE, resolved; null when unset. */
  readonly file: string | null;
  /** CADUCEUS_MASTER_KEY; null when unset. */
  readonly value: string | null;
  /** Where development generates one when neither is set. */
  readonly generatedPath: string;
  /** Production never generates one: it refuses to start instead. */
  readonly production: boolean;
}

/** A resolved master key and where it came from. */
export interface ResolvedMasterKey {
  readonly key: MasterKey;
  readonly source: 'file' | 'environment' | 'generated';
}

function fileCause(error: unknown): string {
  return fileErrorCause(error) ?? systemErrorCode(error) ?? 'failed';
}

async function fromFile(file: string, setting: string): Promise<MasterKey | undefined> {
  let contents;
  try {
    contents = await readSecretFile(file, 'The master key file');
  } catch (error) {
    if (error instanceof KeyringError) throw new MasterKeyError(`${setting}: ${error.message} (${file})`);
    // The path is the operator's own setting, not a secret; only the error's code is read, never its message.
    throw new MasterKeyError(`${setting}: cannot read the master key file ${file}: ${fileCause(error)}`, {
      cause: error,
    });
  }
  if (contents === undefined) return undefined;
  const bytes = decodeMasterKey(contents.text);
  if (bytes === undefined)
    throw new MasterKeyError(`${setting}: the file must hold 32 bytes as 64 hex digits or base64`);
  return new MasterKey(bytes);
}

/**
 * Resolves the master key: CADUCEUS_MASTER_KEY_FILE, else CADUCEUS_MASTER_KEY,
 * else (development only) a generated `<data dir>/master.key`, with a loud
 * warning at every start. Production without one refuses.
 */
export async function resolveMasterKey(settings: MasterKeySettings, logger: Logger): Promise<ResolvedMasterKey> {
  if (settings.file !== null) {
    const key = await fromFile(settings.file, 'CADUCEUS_MASTER_KEY_FILE');
    if (key === undefined)
      throw new MasterKeyError(`CADUCEUS_MASTER_KEY_FILE: the master key file ${settings.file} does not exist`);
    return { key, source: 'file' };
  }
  if (settings.value !== null) {
    const bytes = decodeMasterKey(settings.value);
    if (bytes === undefined)
      throw new MasterKeyError('CADUCEUS_MASTER_KEY must be 32 bytes as 64 hex digits or base64');
    return { key: new MasterKey(bytes), source: 'environment' };
  }
  if (settings.production) {
    throw new MasterKeyError(
      'Production mode needs a master key: set CADUCEUS_MASTER_KEY_FILE or CADUCEUS_MASTER_KEY (docs/key-management.md)',
    );
  }
  // Linked into place only if absent: concurrent first starts agree on one key (secret-file.ts).
  await createSecretFile(settings.generatedPath, `${randomBytes(keyBytes).toString('base64')}\n`).catch(
    (error: unknown) =>
      Promise.reject(
        new MasterKeyError(
          `cannot write the development master key ${settings.generatedPath}: ${fileCause(error)}; set CADUCEUS_MASTER_KEY_FILE`,
          { setting: 'CADUCEUS_DATA_DIR', cause: error },
        ),
      ),
  );
  const key = await fromFile(settings.generatedPath, 'the development master key');
  if (key === undefined)
    throw new MasterKeyError('The development master key file disappeared while it was being opened');
  logger.warn(
    { event: 'keys.development_master_key', path: settings.generatedPath },
    `DEVELOPMENT ONLY: the master key is a generated file beside the data (${settings.generatedPath}); anyone who can read the data folder can decrypt it. Set CADUCEUS_MASTER_KEY_FILE in production (docs/key-management.md)`,
  );
  return { key, source: 'generated' };
}
