import type { KeyWrapper, WrappedKey } from '../ports.js';
import {
  loadKeks,
  newKek,
  parseKekDocument,
  unwrapDataKey,
  wrapDataKey,
  type KekDocument,
  type LoadedKeks,
} from './kek-keyring.js';
import { KeyringError } from './keyring.js';
import type { MasterKey } from './master-key.js';
import {
  createSecretFile,
  fileIdentity,
  readSecretFile,
  replaceSecretFile,
  sameFile,
  withFileLock,
  type FileIdentity,
  type LockOptions,
} from './secret-file.js';

/** Options of the `local` key wrapper. */
export interface LocalKeyWrapperOptions {
  /** The KEK keyring file (CADUCEUS_KEK_KEYRING); created 0600 on first use. */
  readonly path: string;
  /** Seals the file: the KEKs are never on disk in clear. */
  readonly masterKey: MasterKey;
  /** At most how often (ms) to notice a rotation by another process; 0 checks on every call. Default 5000. */
  readonly reloadIntervalMs?: number;
  /** Waiting for the rotation lock; defaults: 10 s timeout, 60 s stale. */
  readonly lock?: LockOptions;
}

const sealPurpose = 'kek-keyring';
const what = 'The KEK keyring file';

interface State {
  keks: LoadedKeks;
  identity: FileIdentity;
  checkedAt: number;
  closed: boolean;
}

async function readKeks(
  file: string,
  masterKey: MasterKey,
): Promise<{ keks: LoadedKeks; document: KekDocument; identity: FileIdentity } | undefined> {
  const contents = await readSecretFile(file, what);
  if (contents === undefined) return undefined;
  const document = parseKekDocument(masterKey.open(sealPurpose, contents.text));
  return { keks: loadKeks(document), document, identity: contents.identity };
}

function encode(masterKey: MasterKey, document: KekDocument): string {
  return masterKey.seal(sealPurpose, JSON.stringify(document));
}

async function loadOrCreate(
  file: string,
  masterKey: MasterKey,
): Promise<NonNullable<Awaited<ReturnType<typeof readKeks>>>> {
  const existing = await readKeks(file, masterKey);
  if (existing !== undefined) return existing;
  await createSecretFile(file, encode(masterKey, { version: 1, keks: [newKek(new Date())] }));
  // Ours, or the keyring of the process that won the race to create it.
  const contents = await readKeks(file, masterKey);
  if (contents === undefined) throw new KeyringError('The KEK keyring file disappeared while it was being opened');
  return contents;
}

/**
 * The `local` adapter of the KeyWrapper port (docs/key-management.md): AES-256
 * KEKs in a keyring file sealed with AES-256-GCM under the master key; data
 * keys wrapped with AES-256-GCM under the current KEK (random 96-bit nonce,
 * AAD naming the KEK). For development and single-host deployments: the KEKs
 * are in this process's memory, unlike with an HSM.
 */
export async function openLocalKeyWrapper(options: LocalKeyWrapperOptions): Promise<KeyWrapper> {
  const { path: file, masterKey } = options;
  const reloadIntervalMs = options.reloadIntervalMs ?? 5000;
  const lock = options.lock ?? { timeoutMs: 10_000, staleMs: 60_000 };
  const opened = await loadOrCreate(file, masterKey);
  const state: State = { keks: opened.keks, identity: opened.identity, checkedAt: Date.now(), closed: false };

  async function reload(): Promise<void> {
    const identity = await fileIdentity(file);
    // A vanished file keeps the KEKs in memory: they still unwrap what they wrapped.
    if (identity !== undefined && !sameFile(identity, state.identity)) {
      const fresh = await readKeks(file, masterKey);
      if (fresh !== undefined) Object.assign(state, { keks: fresh.keks, identity: fresh.identity });
    }
    state.checkedAt = Date.now();
  }

  async function current(): Promise<LoadedKeks> {
    if (state.closed) throw new KeyringError('The key wrapper is closed');
    if (Date.now() - state.checkedAt >= reloadIntervalMs) await reload();
    return state.keks;
  }

  function newest(keks: LoadedKeks): string {
    const id = keks.ids[0];
    if (id === undefined) throw new KeyringError('The KEK keyring has no key');
    return id;
  }

  return {
    async currentKekId() {
      return newest(await current());
    },
    async wrap(dataKey): Promise<WrappedKey> {
      const keks = await current();
      const kekId = newest(keks);
      const kek = keks.keys.get(kekId);
      if (kek === undefined) throw new KeyringError('The KEK keyring has no key');
      return { kekId, wrapped: wrapDataKey(kekId, kek, dataKey) };
    },
    async unwrap(wrapped) {
      let kek = (await current()).keys.get(wrapped.kekId);
      // A KEK another process created since our last look: read the file again once.
      if (kek === undefined) {
        await reload();
        kek = state.keks.keys.get(wrapped.kekId);
      }
      // Most often a second process with its own KEK keyring or master key on a shared database.
      if (kek === undefined)
        throw new KeyringError(
          'The wrapped data key names a KEK this keyring does not hold: every process sharing the database needs the same CADUCEUS_KEK_KEYRING file and master key (docs/key-management.md "Secrets processes share")',
          { setting: 'CADUCEUS_KEK_KEYRING' },
        );
      return unwrapDataKey(wrapped.kekId, kek, wrapped.wrapped);
    },
    async rotate() {
      await current();
      const kek = newKek(new Date());
      // Under the lock, on the file as it is now: a rotation by another process is kept, not overwritten.
      return withFileLock(file, lock, async () => {
        const latest = await readKeks(file, masterKey);
        if (latest === undefined) throw new KeyringError('The KEK keyring file is missing');
        await replaceSecretFile(file, encode(masterKey, { version: 1, keks: [kek, ...latest.document.keks] }));
        const written = await readKeks(file, masterKey);
        if (written === undefined) throw new KeyringError('The KEK keyring file is missing');
        Object.assign(state, { keks: written.keks, identity: written.identity, checkedAt: Date.now() });
        return kek.id;
      });
    },
    async kekIds() {
      return [...(await current()).ids];
    },
    close() {
      state.closed = true;
      return Promise.resolve();
    },
  };
}
