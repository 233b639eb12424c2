import { access, constants } from 'node:fs/promises';
import pkcs11js from 'pkcs11js';
import { ckrName, HsmError } from './errors.js';

/** A loaded, initialized Cryptoki library, shared by every handle on the same module file. */
export interface Pkcs11Library {
  readonly modulePath: string;
  /** The raw binding; only src/keys/pkcs11/token.ts calls it. */
  readonly api: pkcs11js.PKCS11;
  /** Gives the library back; the last user finalizes and unloads it. */
  release(): void;
}

interface Loaded {
  readonly api: pkcs11js.PKCS11;
  users: number;
  /** False when something else in the process had initialized the module: then it is not ours to finalize. */
  readonly ownsInitialize: boolean;
}

/**
 * Cryptoki is process-wide state: C_Initialize succeeds once per process and
 * C_Finalize ends the sessions (and the login) of every caller in it
 * (PKCS#11 v2.40 §5.4). Two handles on one module in one process (the
 * key wrapper and the signing keys, or two test fixtures) must therefore
 * share one initialization, counted here. This is the only module-level state
 * of the adapter: no key, PIN or configuration, just what the native library
 * itself already keeps per process.
 */
const loaded = new Map<string, Loaded>();

function initialize(api: pkcs11js.PKCS11): boolean {
  try {
    // OS locking: pkcs11js runs the *Async calls on libuv worker threads.
    api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    return true;
  } catch (error) {
    if (ckrName(error) === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false;
    throw error;
  }
}

/**
 * Loads and initializes the PKCS#11 module at `modulePath` (CADUCEUS_PKCS11_MODULE),
 * or shares the copy another handle of this process already loaded.
 */
export async function acquireLibrary(modulePath: string): Promise<Pkcs11Library> {
  let entry = loaded.get(modulePath);
  if (entry === undefined) {
    try {
      await access(modulePath, constants.R_OK);
    } catch {
      throw new HsmError('configuration', 'CADUCEUS_PKCS11_MODULE: no readable PKCS#11 module file at that path');
    }
    // The await above may have let another caller load it meanwhile.
    entry = loaded.get(modulePath) ?? loadModule(modulePath);
  }
  entry.users += 1;
  const shared = entry;
  let released = false;
  return {
    modulePath,
    api: shared.api,
    release() {
      if (released) return;
      released = true;
      shared.users -= 1;
      if (shared.users > 0) return;
      loaded.delete(modulePath);
      try {
        if (shared.ownsInitialize) shared.api.C_Finalize();
      } finally {
        shared.api.close();
      }
    },
  };
}

function loadModule(modulePath: string): Loaded {
  const api = new pkcs11js.PKCS11();
  try {
    api.load(modulePath);
  } catch {
    throw new HsmError('configuration', 'CADUCEUS_PKCS11_MODULE: the file is not a loadable PKCS#11 module');
  }
  let ownsInitialize: boolean;
  try {
    ownsInitialize = initialize(api);
  } catch (error) {
    api.close();
    throw new HsmError(
      'configuration',
      'CADUCEUS_PKCS11_MODULE: the PKCS#11 module failed to initialize',
      ckrName(error),
    );
  }
  const entry: Loaded = { api, users: 0, ownsInitialize };
  loaded.set(modulePath, entry);
  return entry;
}
