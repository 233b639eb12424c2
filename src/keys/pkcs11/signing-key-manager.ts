import { createHash, randomBytes } from 'node:crypto';
import { keyId } from '../local/keyring.js';
import { verifyJwsSignature } from '../jws-signature.js';
import type { KeyManager, KeyPurpose, PublicKeyInfo, Signature, SigningAlgorithm } from '../ports.js';
import { p256PublicKey } from './ec-point.js';
import { openEcToken, type EcToken } from './ec-token.js';
import { HsmError, isStaleHandle } from './errors.js';
import { readPin, type Pkcs11Pin } from './pin.js';
import type { ObjectHandle } from './token.js';

/** How to open the PKCS#11 signing keys; the token settings are the same CADUCEUS_PKCS11_* as the key wrapper's. */
export interface Pkcs11SigningKeyManagerOptions {
  readonly modulePath: string;
  readonly tokenLabel: string;
  readonly pin: Pkcs11Pin;
  /** Bound on each asynchronous HSM call (C_Sign, C_GenerateKeyPair), ms (default 5000). */
  readonly callTimeoutMs?: number;
  /** At most this long (ms) before a key rotated by another process (the CLI) signs here; default 5000, as the local keyring's reload. */
  readonly refreshIntervalMs?: number;
}

/** The `pkcs11` adapter of the key-manager port, plus rotation (RotatingKeyManager). */
export interface Pkcs11SigningKeyManager extends KeyManager {
  /** Generates a new key pair on the token that signs from now on; older keys stay published. */
  rotate(purpose: KeyPurpose): Promise<{ kid: string }>;
}

interface HsmKey {
  readonly id: string;
  readonly createdMs: number;
  readonly handle: ObjectHandle;
  readonly info: PublicKeyInfo;
}

type Ring = Readonly<Record<KeyPurpose, readonly HsmKey[]>>;

const purposes: readonly KeyPurpose[] = ['token-signing', 'audit-signing'];

/** CKA_LABEL of a signing key: this prefix per purpose, then its id (docs/hsm.md "Signing keys"). */
export function signingLabelPrefix(purpose: KeyPurpose): string {
  return `caduceus-${purpose}:`;
}

/** Key ids: creation ms (13 digits, sorts as text) and 32 random bits, as KEK ids; newest first comes from the token alone. */
const keyIdPattern = /^sig-(\d{13})-[0-9a-f]{8}$/;
const selfTestInput = Buffer.from('caduceus pkcs11 signing self-test', 'utf8');

/** Signs once and verifies with the published public half: a private/public pair that does not match must not sign tokens. */
async function selfTest(token: EcToken, key: HsmKey): Promise<void> {
  const signature = await token.signDigest(key.handle, createHash('sha256').update(selfTestInput).digest());
  if (!verifyJwsSignature(key.info, selfTestInput, signature)) {
    throw new HsmError('integrity', 'A signing key on the PKCS#11 token does not match its public key object');
  }
}

class Pkcs11Signer implements Pkcs11SigningKeyManager {
  readonly #token: EcToken;
  readonly #refreshIntervalMs: number;
  #ring: Ring = { 'token-signing': [], 'audit-signing': [] };
  #loadedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<Ring> | undefined;
  /** Public keys by label and point: the same PublicKeyInfo (and KeyObject) across refreshes, so jose reuses its converted key. */
  readonly #infos = new Map<string, PublicKeyInfo>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(token: EcToken, refreshIntervalMs: number) {
    this.#token = token;
    this.#refreshIntervalMs = refreshIntervalMs;
  }

  /** Reads every signing key from the token, newest first per purpose. */
  async refresh(): Promise<Ring> {
    this.#refreshing ??= this.#load().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #load(): Promise<Ring> {
    const ring: Record<KeyPurpose, HsmKey[]> = { 'token-signing': [], 'audit-signing': [] };
    for (const purpose of purposes) {
      const prefix = signingLabelPrefix(purpose);
      for (const pair of await this.#token.findKeyPairs(prefix)) {
        const id = pair.label.slice(prefix.length);
        const created = keyIdPattern.exec(id)?.[1];
        // Objects that merely share the prefix, or whose CKA_ID disagrees with the label, are not ours.
        if (created === undefined || pair.id.toString('utf8') !== id) continue;
        ring[purpose].push({
          id,
          createdMs: Number(created),
          handle: pair.privateKey,
          info: await this.#infoOf(pair.label, pair.ecPoint),
        });
      }
      ring[purpose].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    }
    this.#ring = ring;
    this.#loadedAt = Date.now();
    return ring;
  }

  async #infoOf(label: string, ecPoint: Buffer): Promise<PublicKeyInfo> {
    const cacheKey = `${label}/${ecPoint.toString('hex')}`;
    const known = this.#infos.get(cacheKey);
    if (known !== undefined) return known;
    const key = p256PublicKey(ecPoint);
    // RFC 7638 thumbprint, as the local keyring: a kid names exactly one public key.
    const info = Object.freeze({ kid: await keyId(key), alg: 'ES256' as const, key });
    this.#infos.set(cacheKey, info);
    return info;
  }

  /**
   * The keys as last read, read again when older than the refresh interval.
   * A failed refresh keeps the keys already known: verification must not stop
   * because the HSM is briefly unreachable (signing then fails on its own).
   */
  async #current(): Promise<Ring> {
    if (Date.now() - this.#loadedAt < this.#refreshIntervalMs) return this.#ring;
    try {
      return await this.refresh();
    } catch (error) {
      if (purposes.every((purpose) => this.#ring[purpose].length === 0)) throw error;
      this.#loadedAt = Date.now();
      return this.#ring;
    }
  }

  async #newest(purpose: KeyPurpose): Promise<HsmKey> {
    const key = (await this.#current())[purpose][0];
    if (key === undefined) throw new HsmError('unavailable', `No ${purpose} key is on the PKCS#11 token`);
    return key;
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined)
      return Promise.reject(new HsmError('closed', 'The PKCS#11 signing keys are closed'));
    const running = work();
    this.#inFlight.add(running);
    const done = (): void => {
      this.#inFlight.delete(running);
    };
    running.then(done, done);
    return running;
  }

  currentKey(purpose: KeyPurpose): Promise<{ kid: string; alg: SigningAlgorithm }> {
    return this.#track(async () => {
      const { info } = await this.#newest(purpose);
      return { kid: info.kid, alg: info.alg };
    });
  }

  sign(purpose: KeyPurpose, data: Uint8Array): Promise<Signature> {
    return this.#track(() => this.#sign(purpose, data));
  }

  publicKeys(purpose: KeyPurpose): Promise<PublicKeyInfo[]> {
    return this.#track(async () => (await this.#current())[purpose].map((key) => key.info));
  }

  rotate(purpose: KeyPurpose): Promise<{ kid: string }> {
    return this.#track(() => this.#rotate(purpose));
  }

  /** Checks the current key of each purpose once (see selfTest). */
  selfTest(): Promise<void> {
    return this.#track(async () => {
      for (const purpose of purposes) await selfTest(this.#token, await this.#newest(purpose));
    });
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#inFlight]).then(() => this.#token.close());
    return this.#closing;
  }

  async #sign(purpose: KeyPurpose, data: Uint8Array): Promise<Signature> {
    const key = await this.#newest(purpose);
    // RFC 7518 §3.4 ES256: ECDSA over SHA-256 of the input. The digest is made here and CKM_ECDSA signs it,
    // so the token sees 32 bytes instead of the whole token, and its r‖s output is already the JWS form.
    const digest = createHash('sha256').update(data).digest();
    let signature: Buffer;
    try {
      signature = await this.#token.signDigest(key.handle, digest);
    } catch (error) {
      if (!isStaleHandle(error)) throw error;
      // The token was re-inserted or the module re-initialized: find the same key again, once.
      const again = (await this.refresh())[purpose].find((candidate) => candidate.id === key.id);
      if (again === undefined) throw new HsmError('unavailable', 'The signing key disappeared from the PKCS#11 token');
      signature = await this.#token.signDigest(again.handle, digest);
    }
    if (signature.length !== 64)
      throw new HsmError('unavailable', 'The PKCS#11 token returned an ECDSA signature of the wrong length');
    return { kid: key.info.kid, alg: key.info.alg, signature };
  }

  async #rotate(purpose: KeyPurpose): Promise<{ kid: string }> {
    const ring = await this.refresh();
    // Never older than the newest key on the token, even when this host's clock is behind.
    const createdMs = Math.max(Date.now(), (ring[purpose][0]?.createdMs ?? 0) + 1);
    const id = `sig-${String(createdMs).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
    await this.#token.generateP256KeyPair(`${signingLabelPrefix(purpose)}${id}`, Buffer.from(id, 'utf8'));
    const created = (await this.refresh())[purpose].find((key) => key.id === id);
    if (created === undefined) throw new HsmError('unavailable', 'The new signing key is not on the PKCS#11 token');
    return { kid: created.info.kid };
  }
}

/**
 * Opens the PKCS#11 signing keys (CADUCEUS_SIGNING_KEYS=pkcs11): logs in to
 * the token, generates a first ES256 key pair for each purpose that has none,
 * and checks that each current key signs what its public half verifies.
 * Rejects with an HsmError of kind `configuration` (naming the setting,
 * never the PIN) when the module, token label or PIN is wrong.
 */
export async function openPkcs11SigningKeyManager(
  options: Pkcs11SigningKeyManagerOptions,
): Promise<Pkcs11SigningKeyManager> {
  const pin = await readPin(options.pin);
  const token = await openEcToken({
    modulePath: options.modulePath,
    tokenLabel: options.tokenLabel,
    pin,
    ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
  });
  const manager = new Pkcs11Signer(token, options.refreshIntervalMs ?? 5000);
  try {
    const ring = await manager.refresh();
    for (const purpose of purposes) if (ring[purpose].length === 0) await manager.rotate(purpose);
    await manager.selfTest();
    return manager;
  } catch (error) {
    await manager.close();
    throw error;
  }
}
