import path from 'node:path';
import { ConfigError, integer, oneOf, type Env } from './readers.js';

/** Envelope encryption and the key manager (docs/key-management.md "Settings"). */
export interface KeyProtectionConfig {
  /** Which adapter keeps the key-encryption keys: a sealed keyring file, or a PKCS#11 HSM. */
  readonly manager: 'local' | 'pkcs11';
  /** Which adapter keeps the token- and audit-signing keys: the sealed keyring file, or the PKCS#11 token (docs/hsm.md "Signing keys"). */
  readonly signingKeys: 'local' | 'pkcs11';
  /** Refuse to start unless the KEKs are in an HSM. */
  readonly requireHsm: boolean;
  /** Where the master key comes from; in development a missing one is generated at `generatedPath`. */
  readonly masterKey: { readonly file: string | null; readonly value: string | null; readonly generatedPath: string };
  /** The `local` adapter's KEK keyring file (sealed under the master key). */
  readonly kekKeyringPath: string;
  /** `off` stores bodies unsealed: benchmarks and diagnostics only, refused in production. */
  readonly encryption: 'on' | 'off';
  /** Most unwrapped data keys kept in memory. */
  readonly dataKeyCacheSize: number;
  /** A wrap or unwrap slower than this answers 503 and counts against the `key-manager` breaker. */
  readonly timeoutMs: number;
  /** How often a process re-reads which data key is current: the bound on how long a rotation by another process goes unseen. */
  readonly dataKeyRefreshMs: number;
  /** The server's scheduled rotation (docs/key-management.md "Rotation"): every `days` days, or never when null. */
  readonly rotation: { readonly days: number | null };
}

function set(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** 32 bytes as 64 hex digits or base64/base64url; src/keys/local/master-key.ts decodes it. */
const masterKeyShape = /^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=?|[A-Za-z0-9_-]{43})$/;

/** What the key settings depend on in the rest of the configuration. */
export interface KeySettingsContext {
  readonly production: boolean;
  readonly dataDir: string;
  readonly cwd: string;
  /** True when the CADUCEUS_PKCS11_* settings are complete. */
  readonly pkcs11Configured: boolean;
}

function masterKeySettings(env: Env, context: KeySettingsContext): KeyProtectionConfig['masterKey'] {
  const file = set(env, 'CADUCEUS_MASTER_KEY_FILE');
  const value = set(env, 'CADUCEUS_MASTER_KEY');
  if (file !== undefined && value !== undefined)
    throw new ConfigError('CADUCEUS_MASTER_KEY_FILE and CADUCEUS_MASTER_KEY must not both be set (prefer the file)');
  if (value !== undefined && !masterKeyShape.test(value.trim()))
    throw new ConfigError('CADUCEUS_MASTER_KEY must be 32 bytes as 64 hex digits or base64');
  if (context.production && file === undefined && value === undefined) {
    throw new ConfigError(
      'CADUCEUS_MASTER_KEY_FILE (or CADUCEUS_MASTER_KEY) must be set in production: the keyrings are sealed under it (docs/key-management.md)',
    );
  }
  return {
    file: file === undefined ? null : path.resolve(context.cwd, file),
    value: value ?? null,
    generatedPath: path.join(context.dataDir, 'master.key'),
  };
}

/** CADUCEUS_KEY_ROTATION_DAYS: `off` (the default) or 1–3650 days. */
function rotationDays(env: Env): number | null {
  const raw = set(env, 'CADUCEUS_KEY_ROTATION_DAYS');
  return raw === undefined || raw === 'off' ? null : integer(env, 'CADUCEUS_KEY_ROTATION_DAYS', 0, 1, 3650);
}

/** Reads the key-management settings (docs/key-management.md "Settings"). */
export function loadKeyProtectionConfig(env: Env, context: KeySettingsContext): KeyProtectionConfig {
  const manager = oneOf(env, 'CADUCEUS_KEY_MANAGER', ['local', 'pkcs11'], 'local');
  const requireHsm = oneOf(env, 'CADUCEUS_REQUIRE_HSM', ['true', 'false'], 'false') === 'true';
  if (requireHsm && manager !== 'pkcs11')
    throw new ConfigError('CADUCEUS_REQUIRE_HSM=true needs CADUCEUS_KEY_MANAGER=pkcs11');
  if (manager === 'pkcs11' && !context.pkcs11Configured) {
    throw new ConfigError(
      'CADUCEUS_KEY_MANAGER=pkcs11 needs CADUCEUS_PKCS11_MODULE, CADUCEUS_PKCS11_TOKEN_LABEL and a PIN setting',
    );
  }
  const signingKeys = oneOf(env, 'CADUCEUS_SIGNING_KEYS', ['local', 'pkcs11'], 'local');
  if (signingKeys === 'pkcs11' && !context.pkcs11Configured) {
    throw new ConfigError(
      'CADUCEUS_SIGNING_KEYS=pkcs11 needs CADUCEUS_PKCS11_MODULE, CADUCEUS_PKCS11_TOKEN_LABEL and a PIN setting',
    );
  }
  const encryption = oneOf(env, 'CADUCEUS_ENCRYPTION', ['on', 'off'], 'on');
  if (encryption === 'off' && context.production)
    throw new ConfigError('CADUCEUS_ENCRYPTION=off is refused in production (benchmarks and diagnostics only)');
  return {
    manager,
    signingKeys,
    requireHsm,
    masterKey: masterKeySettings(env, context),
    kekKeyringPath: path.resolve(
      context.cwd,
      set(env, 'CADUCEUS_KEK_KEYRING') ?? path.join(context.dataDir, 'kek-keyring.json'),
    ),
    encryption,
    dataKeyCacheSize: integer(env, 'CADUCEUS_DATA_KEY_CACHE_SIZE', 1024, 1, 1_000_000),
    timeoutMs: integer(env, 'CADUCEUS_KEY_MANAGER_TIMEOUT_MS', 2000, 50, 60_000),
    dataKeyRefreshMs: integer(env, 'CADUCEUS_DATA_KEY_REFRESH_MS', 30_000, 100, 600_000),
    rotation: { days: rotationDays(env) },
  };
}
