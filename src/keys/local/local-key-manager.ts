import type { KeyPurpose, PublicKeyInfo, RotatingKeyManager, Signature, SigningAlgorithm } from '../ports.js';
import {
  createKeyringFile,
  keyringFileIdentity,
  readKeyringFile,
  replaceKeyringFile,
  withKeyringLock,
  type FileIdentity,
  type KeyringFileContents,
  type LockOptions,
} from './keyring-file.js';
import {
  generateStoredKey,
  keyPurposes,
  KeyringError,
  loadKeyring,
  newKeyringDocument,
  signWith,
  type KeyringDocument,
  type LoadedKeyring,
} from './keyring.js';
import type { MasterKey } from './master-key.js';
import { sameFile } from './secret-file.js';

/** Options of the local key manager. */
export interface LocalKeyManagerOptions {
  /** The keyring file; its folder is created 0700 when missing. */
  readonly path: string;
  /** Algorithm of the keys this manager generates; ES256 (P-256) by default. */
  readonly algorithm?: SigningAlgorithm;
  /**
   * At most how often (ms) to check whether another process (the CLI, another
   * server) rewrote the keyring, and reload it; 0 checks on every call. Default 5000.
   */
  readonly reloadIntervalMs?: number;
  /** Waiting for the rotation lock; defaults: 10 s timeout, 60 s stale. */
  readonly lock?: LockOptions;
  /**
   * Seals the keyring file under this key (docs/key-management.md). A
   * plaintext keyring found at open is read once and rewritten sealed;
   * without a master key the file stays plaintext (test fixtures only).
   */
  readonly masterKey?: MasterKey;
  /** Called once when a plaintext keyring was rewritten sealed at open (for a log line). */
  readonly onSealed?: () => void;
}

/** The local adapter of the key-manager port, with rotation. */
export type LocalKeyManager = RotatingKeyManager;

interface State {
  ring: LoadedKeyring;
  publicKeys: Readonly<Record<KeyPurpose, readonly PublicKeyInfo[]>>;
  identity: FileIdentity;
  checkedAt: number;
  closed: boolean;
  reloading: Promise<void> | undefined;
}

async function loadOrCreate(
  file: string,
  alg: SigningAlgorithm,
  masterKey: MasterKey | undefined,
): Promise<KeyringFileContents> {
  const existing = await readKeyringFile(file, masterKey);
  if (existing !== undefined) return existing;
  await createKeyringFile(file, await newKeyringDocument(alg, new Date()), masterKey);
  // Read back whatever is at the path now: ours, or the keyring of the process that won the race.
  const contents = await readKeyringFile(file, masterKey);
  if (contents === undefined) throw new KeyringError('The keyring file disappeared while it was being opened');
  return contents;
}

/**
 * The one-time migration of a keyring written before sealing: under the lock,
 * if the file is still plaintext, it is rewritten sealed with the same keys.
 * Returns the file as it is afterwards.
 */
async function sealPlaintext(
  file: string,
  masterKey: MasterKey,
  lock: LockOptions,
  onSealed: (() => void) | undefined,
): Promise<KeyringFileContents> {
  return withKeyringLock(file, lock, async () => {
    const latest = await readKeyringFile(file, masterKey);
    if (latest === undefined) throw new KeyringError('The keyring file is missing');
    if (latest.sealed) return latest;
    await replaceKeyringFile(file, latest.document, masterKey);
    onSealed?.();
    const written = await readKeyringFile(file, masterKey);
    if (written === undefined) throw new KeyringError('The keyring file is missing');
    return written;
  });
}

async function openContents(
  file: string,
  alg: SigningAlgorithm,
  options: LocalKeyManagerOptions,
  lock: LockOptions,
): Promise<KeyringFileContents> {
  const contents = await loadOrCreate(file, alg, options.masterKey);
  if (options.masterKey === undefined || contents.sealed) return contents;
  return sealPlaintext(file, options.masterKey, lock, options.onSealed);
}

async function loaded(contents: KeyringFileContents): Promise<Pick<State, 'ring' | 'publicKeys' | 'identity'>> {
  const ring = await loadKeyring(contents.document);
  // PublicKeyInfo objects are built once per load: the same KeyObject on every call lets
  // jose reuse its converted key instead of importing it again per verification.
  const publicKeys = Object.fromEntries(
    keyPurposes.map((purpose) => [
      purpose,
      Object.freeze(ring[purpose].map((key) => Object.freeze({ kid: key.kid, alg: key.alg, key: key.publicKey }))),
    ]),
  ) as Record<KeyPurpose, readonly PublicKeyInfo[]>;
  return { ring, publicKeys, identity: contents.identity };
}

function withKey(
  document: KeyringDocument,
  purpose: KeyPurpose,
  key: KeyringDocument['purposes'][KeyPurpose][number],
): KeyringDocument {
  return { ...document, purposes: { ...document.purposes, [purpose]: [key, ...document.purposes[purpose]] } };
}

/**
 * Opens (or, on first use, creates) a keyring file with one ES256 key per
 * purpose, kid = RFC 7638 thumbprint. Private keys become KeyObjects once,
 * here, and live only inside the returned object. The file is refused when
 * group or others can access it. With a master key the file is sealed with
 * AES-256-GCM (DESIGN.md "Data protection": every secret at rest), and a
 * file that changes under a running manager must still be sealed: a
 * plaintext file swapped in would otherwise plant a signing key.
 */
export async function openLocalKeyManager(options: LocalKeyManagerOptions): Promise<LocalKeyManager> {
  const file = options.path;
  const alg = options.algorithm ?? 'ES256';
  const reloadIntervalMs = options.reloadIntervalMs ?? 5000;
  const lock = options.lock ?? { timeoutMs: 10_000, staleMs: 60_000 };
  const { masterKey } = options;
  const state: State = {
    ...(await loaded(await openContents(file, alg, options, lock))),
    checkedAt: Date.now(),
    closed: false,
    reloading: undefined,
  };

  /** The file as it is now; with a master key, only a sealed file is accepted after open. */
  async function reread(): Promise<KeyringFileContents | undefined> {
    const contents = await readKeyringFile(file, masterKey);
    if (contents !== undefined && masterKey !== undefined && !contents.sealed)
      throw new KeyringError('The keyring file was replaced by an unsealed one');
    return contents;
  }

  async function reloadIfChanged(): Promise<void> {
    const identity = await keyringFileIdentity(file);
    // A vanished file keeps the keys in memory: they are still the keys in use.
    if (identity !== undefined && !sameFile(identity, state.identity)) {
      const fresh = await reread();
      if (fresh !== undefined) Object.assign(state, await loaded(fresh));
    }
    state.checkedAt = Date.now();
  }

  async function current(): Promise<State> {
    if (state.closed) throw new KeyringError('The key manager is closed');
    if (Date.now() - state.checkedAt >= reloadIntervalMs) {
      state.reloading ??= reloadIfChanged().finally(() => {
        state.reloading = undefined;
      });
      await state.reloading;
    }
    return state;
  }

  function newest(ring: LoadedKeyring, purpose: KeyPurpose): LoadedKeyring[KeyPurpose][number] {
    const key = ring[purpose][0];
    if (key === undefined) throw new KeyringError(`The keyring has no key for ${purpose}`);
    return key;
  }

  return {
    async currentKey(purpose) {
      const { kid, alg: keyAlg } = newest((await current()).ring, purpose);
      return { kid, alg: keyAlg };
    },
    async sign(purpose, data): Promise<Signature> {
      const key = newest((await current()).ring, purpose);
      return { kid: key.kid, alg: key.alg, signature: signWith(key, data) };
    },
    async publicKeys(purpose) {
      return [...(await current()).publicKeys[purpose]];
    },
    async rotate(purpose) {
      await current();
      const key = await generateStoredKey(alg, new Date());
      // Under the lock, on the file as it is now: a rotation by another process is kept, not overwritten.
      return withKeyringLock(file, lock, async () => {
        const latest = await reread();
        if (latest === undefined) throw new KeyringError('The keyring file is missing');
        await replaceKeyringFile(file, withKey(latest.document, purpose, key), masterKey);
        const written = await reread();
        if (written === undefined) throw new KeyringError('The keyring file is missing');
        Object.assign(state, await loaded(written), { checkedAt: Date.now() });
        return { kid: key.kid };
      });
    },
    close() {
      state.closed = true;
      return Promise.resolve();
    },
  };
}
