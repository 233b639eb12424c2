import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { RotatingKeyManager } from '../ports.js';
import { fileErrorCause } from '../../lib/system-error.js';
import { KeyringError } from './keyring.js';
import { openLocalKeyManager } from './local-key-manager.js';
import { resolveMasterKey, type MasterKey } from './master-key.js';

/** The master key and the signing keys (the keyring it seals, or the PKCS#11 token), as the server and every CLI command open them. */
export interface ConfiguredKeys {
  readonly masterKey: MasterKey;
  /** Either adapter: both keep several keys per purpose and rotate. */
  readonly keys: RotatingKeyManager;
}

/** Throws a file-system failure on a keyring file with its path (an operator's setting, not a secret), the cause in words and `setting`; anything else as it is. */
export function throwKeyringFailure(file: string, setting: string, error: unknown): never {
  const cause = fileErrorCause(error);
  if (cause === undefined) throw error;
  throw new KeyringError(`cannot open the keyring file ${file}: ${cause}`, { setting, cause: error });
}

/**
 * Resolves the master key (file, environment, or in development a generated
 * file with a loud warning) and opens the signing keys CADUCEUS_SIGNING_KEYS
 * selects: the keyring sealed under the master key (a plaintext keyring from
 * before sealing is rewritten sealed once), or the PKCS#11 token.
 */
export async function openConfiguredKeys(config: Config, logger: Logger): Promise<ConfiguredKeys> {
  const { key: masterKey } = await resolveMasterKey(
    { ...config.keys.masterKey, production: config.env === 'production' },
    logger,
  );
  const pkcs11 = config.keys.pkcs11;
  if (config.keys.signingKeys === 'pkcs11' && pkcs11 !== null) {
    // Loaded only when selected: the native PKCS#11 binding stays out of `local` deployments (docs/hsm.md "Signing keys").
    const { openPkcs11SigningKeyManager } = await import('../pkcs11/signing-key-manager.js');
    const hsmKeys = await openPkcs11SigningKeyManager({
      modulePath: pkcs11.modulePath,
      tokenLabel: pkcs11.tokenLabel,
      pin: pkcs11.pin,
      callTimeoutMs: config.keys.timeoutMs,
    });
    return { masterKey, keys: hsmKeys };
  }
  const keyringPath = config.keys.keyringPath;
  const keys = await openLocalKeyManager({
    path: keyringPath,
    masterKey,
    onSealed: () => {
      logger.info(
        { event: 'keys.keyring_sealed' },
        'the signing keyring was plaintext and is now sealed under the master key',
      );
    },
  }).catch((error: unknown) => throwKeyringFailure(keyringPath, 'CADUCEUS_KEYRING', error));
  return { masterKey, keys };
}
