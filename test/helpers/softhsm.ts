/**
 * SoftHSM2 for the PKCS#11 tests: a private SOFTHSM2_CONF and token folder per
 * test file, fresh tokens per test, and a raw pkcs11js session to inspect the
 * token from outside the adapter. SoftHSM2 reads SOFTHSM2_CONF when the module
 * is initialized in this process, so the helper sets it before any test opens
 * the module; each token is initialized before the module is (SoftHSM2 lists
 * tokens at C_Initialize only), which the adapter's last close makes possible.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pkcs11js from 'pkcs11js';

const execFileAsync = promisify(execFile);

/** The SoftHSM2 module: CADUCEUS_TEST_PKCS11_MODULE, or where Debian's softhsm2 package puts it. */
export function softhsmModulePath(): string {
  return process.env.CADUCEUS_TEST_PKCS11_MODULE ?? '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so';
}

/**
 * The `skip` option of a SoftHSM2 test: false when the module and softhsm2-util
 * are installed, or under CI=true (the test then runs and fails, as .ci/run
 * installs SoftHSM2); elsewhere the reason, which the runner prints.
 */
export async function softhsmSkip(): Promise<string | false> {
  if (process.env.CI === 'true') return false;
  try {
    await access(softhsmModulePath());
    await execFileAsync('softhsm2-util', ['--version']);
    return false;
  } catch {
    return `SoftHSM2 is not installed (no ${softhsmModulePath()} or softhsm2-util); skipped outside CI (CI=true makes this a failure; apt-get install softhsm2)`;
  }
}

/** A token initialized for one test. */
export interface TestToken {
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
}

/** One test file's SoftHSM2: its config, token folder and tokens. */
export interface SoftHsm {
  readonly dir: string;
  readonly modulePath: string;
  /** Initializes a fresh token in a free slot; call it while no handle has the module open. */
  createToken(): Promise<TestToken>;
  /** Removes the folder and every token in it. */
  cleanup(): Promise<void>;
}

/** Writes a private SOFTHSM2_CONF (file object store in a temp folder) and points this process at it. */
export async function setUpSoftHsm(): Promise<SoftHsm> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  await mkdir(tokens, { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  await writeFile(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    { mode: 0o600 },
  );
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    modulePath: softhsmModulePath(),
    async createToken() {
      const token = {
        label: `t-${randomBytes(6).toString('hex')}`,
        pin: randomBytes(8).toString('hex'),
        soPin: randomBytes(8).toString('hex'),
      };
      await execFileAsync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', token.label, '--so-pin', token.soPin, '--pin', token.pin],
        {
          env: { ...process.env, SOFTHSM2_CONF: conf },
        },
      );
      return token;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A logged-in raw pkcs11js session, independent of the adapter's code, for looking at the token from outside. */
export interface RawSession {
  readonly api: pkcs11js.PKCS11;
  readonly slot: pkcs11js.Handle;
  readonly session: pkcs11js.Handle;
  /** Handles of token objects whose CKA_LABEL is exactly `label`. */
  findByLabel(label: string): pkcs11js.Handle[];
  /** One attribute's raw value. */
  attribute(object: pkcs11js.Handle, type: number): Buffer;
  close(): void;
}

/** The CKR_* name of a pkcs11js error. */
export function ckrOf(error: unknown): string {
  return error instanceof Error ? (/^CKR_[A-Z0-9_]+/.exec(error.message)?.[0] ?? error.message) : String(error);
}

/**
 * Opens a raw session. If the adapter has the module initialized in this
 * process, the raw handle shares that initialization (and its login) and does
 * not finalize it on close.
 */
export function openRawSession(modulePath: string, token: TestToken): RawSession {
  const api = new pkcs11js.PKCS11();
  api.load(modulePath);
  let initialized = false;
  try {
    api.C_Initialize();
    initialized = true;
  } catch (error) {
    if (ckrOf(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw error;
  }
  const slot = api
    .C_GetSlotList(true)
    .find((candidate) => api.C_GetTokenInfo(candidate).label.trimEnd() === token.label);
  if (slot === undefined) throw new Error('test token not found');
  const session = api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    api.C_Login(session, pkcs11js.CKU_USER, token.pin);
  } catch (error) {
    if (ckrOf(error) !== 'CKR_USER_ALREADY_LOGGED_IN') throw error;
  }
  return {
    api,
    slot,
    session,
    findByLabel(label) {
      api.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
      try {
        return api.C_FindObjects(session, 100);
      } finally {
        api.C_FindObjectsFinal(session);
      }
    },
    attribute(object, type) {
      const [result] = api.C_GetAttributeValue(session, object, [{ type }]);
      if (result === undefined || !Buffer.isBuffer(result.value)) throw new Error('attribute missing');
      return result.value;
    },
    close() {
      try {
        api.C_CloseSession(session);
      } catch {
        // Closed already (C_CloseAllSessions in a session-loss test).
      }
      if (initialized) api.C_Finalize();
      api.close();
    },
  };
}
