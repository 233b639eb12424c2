import { randomBytes } from 'node:crypto';
import type { KeyWrapper, WrappedKey } from '../ports.js';
import { HsmError, isStaleHandle } from './errors.js';
import { readPin, type Pkcs11Pin } from './pin.js';
import { openToken, type ObjectHandle, type Pkcs11Token, type SecretKeyAttributes } from './token.js';

/** How to open the `pkcs11` key wrapper; `modulePath`, `tokenLabel` and `pin` come from config.keys.pkcs11. */
export interface Pkcs11KeyWrapperOptions {
  /** The HSM vendor's PKCS#11 module file (CADUCEUS_PKCS11_MODULE). */
  readonly modulePath: string;
  /** The token holding the KEKs (CADUCEUS_PKCS11_TOKEN_LABEL). */
  readonly tokenLabel: string;
  /** The user PIN, or the file it is read from (CADUCEUS_PKCS11_PIN / CADUCEUS_PKCS11_PIN_FILE). */
  readonly pin: Pkcs11Pin;
  /** Bound on each asynchronous HSM call, ms (default 5000). */
  readonly callTimeoutMs?: number;
  /** At most this long (ms) before a KEK rotated by another process is used for new wraps (default 30000). */
  readonly refreshIntervalMs?: number;
}

interface Kek {
  readonly id: string;
  readonly createdMs: number;
  readonly handle: ObjectHandle;
}

/** CKA_LABEL of every KEK: this prefix, then its id. */
export const kekLabelPrefix = 'caduceus-kek:';
/**
 * KEK ids: creation time in ms, 13 digits (sorts as text until the year 2286),
 * then 32 random bits against two processes rotating in the same millisecond.
 * Newest first is therefore derivable from the token alone.
 */
const kekIdPattern = /^hsm-(\d{13})-[0-9a-f]{8}$/;
const formatVersion = 1;
/** Another host's clock may run this far ahead of ours (its KEK ids then look "from the future"). */
const maxClockAheadMs = 300_000;
const ivBytes = 12;
const dataKeyBytes = 32;
const wrappedBytes = 1 + ivBytes + dataKeyBytes + 16;

/**
 * The KEK template: generated on the token, kept there, never readable or
 * exportable (CKA_SENSITIVE, not CKA_EXTRACTABLE, so the token also sets
 * CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE), usable only to encrypt and
 * decrypt data keys with AES-GCM.
 */
function kekAttributes(id: string): SecretKeyAttributes {
  return {
    label: `${kekLabelPrefix}${id}`,
    id: Buffer.from(id, 'utf8'),
    token: true,
    sensitive: true,
    extractable: false,
    encrypt: true,
    decrypt: true,
    wrap: false,
    unwrap: false,
  };
}

/** AAD binds a wrapped key to the format and the KEK it names. */
function aadFor(kekId: string): Buffer {
  return Buffer.from(`caduceus/kek/v${formatVersion}/${kekId}`, 'utf8');
}

async function listKeks(token: Pkcs11Token): Promise<Kek[]> {
  const keks: Kek[] = [];
  for (const key of await token.findAesKeys()) {
    if (!key.label.startsWith(kekLabelPrefix)) continue;
    const id = key.label.slice(kekLabelPrefix.length);
    const match = kekIdPattern.exec(id);
    if (match?.[1] !== undefined && key.id.toString('utf8') === id)
      keks.push({ id, createdMs: Number(match[1]), handle: key.handle });
  }
  return keks.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/**
 * The `pkcs11` adapter of the KeyWrapper port. Data keys are encrypted with
 * CKM_AES_GCM by the token under the current KEK; the KEK never leaves it.
 * Wrapped format: version (1) ‖ IV (12) ‖ ciphertext (32) ‖ tag (16).
 * Which KEK is current is read from the token (the newest id), so every
 * process agrees; see docs/hsm.md for why AES-GCM and not
 * CKM_AES_KEY_WRAP_PAD.
 */
class Pkcs11KeyWrapper implements KeyWrapper {
  readonly #token: Pkcs11Token;
  readonly #refreshIntervalMs: number;
  #keks: Kek[] = [];
  #loadedAt = Number.NEGATIVE_INFINITY;
  /** Calls started before close() finish before the session closes. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(token: Pkcs11Token, refreshIntervalMs: number) {
    this.#token = token;
    this.#refreshIntervalMs = refreshIntervalMs;
  }

  /** Reads the KEKs from the token, newest first. */
  async refresh(): Promise<Kek[]> {
    this.#keks = await listKeks(this.#token);
    this.#loadedAt = Date.now();
    return this.#keks;
  }

  async #current(): Promise<Kek> {
    const keks = Date.now() - this.#loadedAt >= this.#refreshIntervalMs ? await this.refresh() : this.#keks;
    const [current] = keks;
    if (current === undefined) throw new HsmError('unavailable', 'No key-encryption key is on the PKCS#11 token');
    return current;
  }

  /** Finds a KEK by id, reading the token again when it may be one another process made since. */
  async #find(kekId: string): Promise<Kek | undefined> {
    const known = this.#keks.find((kek) => kek.id === kekId);
    if (known !== undefined) return known;
    const created = kekIdPattern.exec(kekId)?.[1];
    if (created === undefined) return undefined;
    // Bounded: only a plausible id newer than every known KEK, or else once a second, makes a token search.
    const createdMs = Number(created);
    const plausiblyNew = createdMs > (this.#keks[0]?.createdMs ?? 0) && createdMs <= Date.now() + maxClockAheadMs;
    if (!plausiblyNew && Date.now() - this.#loadedAt < 1000) return undefined;
    return (await this.refresh()).find((kek) => kek.id === kekId);
  }

  /** Runs `use` with a KEK handle; after a stale handle (token re-inserted) looks the KEK up once more. */
  async #withHandle<T>(kek: Kek, use: (handle: ObjectHandle) => Promise<T>): Promise<T> {
    try {
      return await use(kek.handle);
    } catch (error) {
      if (!isStaleHandle(error)) throw error;
      const again = (await this.refresh()).find((candidate) => candidate.id === kek.id);
      if (again === undefined)
        throw new HsmError('unavailable', 'The key-encryption key disappeared from the PKCS#11 token');
      return await use(again.handle);
    }
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(new HsmError('closed', 'The PKCS#11 key wrapper is closed'));
    const running = work();
    this.#inFlight.add(running);
    const done = (): void => {
      this.#inFlight.delete(running);
    };
    running.then(done, done);
    return running;
  }

  currentKekId(): Promise<string> {
    return this.#track(async () => (await this.#current()).id);
  }

  wrap(dataKey: Uint8Array): Promise<WrappedKey> {
    return this.#track(() => this.#wrap(dataKey));
  }

  unwrap(wrapped: WrappedKey): Promise<Uint8Array> {
    return this.#track(() => this.#unwrap(wrapped));
  }

  rotate(): Promise<string> {
    return this.#track(() => this.#rotate());
  }

  kekIds(): Promise<string[]> {
    return this.#track(async () => (await this.refresh()).map((kek) => kek.id));
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#inFlight]).then(() => this.#token.close());
    return this.#closing;
  }

  async #wrap(dataKey: Uint8Array): Promise<WrappedKey> {
    if (dataKey.length !== dataKeyBytes) throw new RangeError('A data key is 32 bytes (AES-256)');
    const kek = await this.#current();
    // A random 96-bit IV per wrap (NIST SP 800-38D §8.2.2): keep a KEK under 2^32 wraps; rotation resets the count.
    const iv = randomBytes(ivBytes);
    const sealed = await this.#withHandle(kek, (handle) =>
      this.#token.encryptAesGcm(handle, { iv, aad: aadFor(kek.id) }, dataKey),
    );
    return { kekId: kek.id, wrapped: Buffer.concat([Buffer.of(formatVersion), iv, sealed]) };
  }

  async #unwrap(wrapped: WrappedKey): Promise<Uint8Array> {
    const bytes = Buffer.from(wrapped.wrapped);
    if (bytes.length !== wrappedBytes || bytes[0] !== formatVersion) {
      throw new HsmError('integrity', "The wrapped key is not in the PKCS#11 adapter's format");
    }
    const kek = await this.#find(wrapped.kekId);
    if (kek === undefined)
      throw new HsmError('integrity', 'The wrapped key names a key-encryption key that is not on the token');
    const iv = bytes.subarray(1, 1 + ivBytes);
    const sealed = bytes.subarray(1 + ivBytes);
    const dataKey = await this.#withHandle(kek, (handle) =>
      this.#token.decryptAesGcm(handle, { iv, aad: aadFor(kek.id) }, sealed),
    );
    if (dataKey.length !== dataKeyBytes)
      throw new HsmError('integrity', 'The wrapped key does not hold a 32-byte data key');
    return dataKey;
  }

  async #rotate(): Promise<string> {
    const keks = await this.refresh();
    // Never older than the newest KEK on the token, even when this host's clock is behind.
    const createdMs = Math.max(Date.now(), (keks[0]?.createdMs ?? 0) + 1);
    const id = `hsm-${String(createdMs).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
    await this.#token.generateAes256Key(kekAttributes(id));
    await this.refresh();
    return id;
  }
}

/**
 * Opens the `pkcs11` key wrapper: loads the module, logs in to the token and,
 * when the token holds no KEK yet, generates the first one on it. Rejects with
 * an HsmError of kind `configuration` (naming the setting, never the PIN) when
 * the module, token label or PIN is wrong.
 */
export async function openPkcs11KeyWrapper(options: Pkcs11KeyWrapperOptions): Promise<KeyWrapper> {
  const pin = await readPin(options.pin);
  const token = await openToken({
    modulePath: options.modulePath,
    tokenLabel: options.tokenLabel,
    pin,
    ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
  });
  try {
    const wrapper = new Pkcs11KeyWrapper(token, options.refreshIntervalMs ?? 30_000);
    if ((await wrapper.kekIds()).length === 0) await wrapper.rotate();
    return wrapper;
  } catch (error) {
    await token.close();
    throw error;
  }
}
