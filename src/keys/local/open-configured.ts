import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { openLocalKeyManager, type LocalKeyManager } from './local-key-manager.js';
import { resolveMasterKey, type MasterKey } from './master-key.js';

/** The master key and the signing keyring it seals, as the server and every CLI command open them. */
export interface ConfiguredKeys {
  readonly masterKey: MasterKey;
  readonly keys: LocalKeyManager;
}

/**
 * Resolves the master key (file, environment, or in development a generated
 * file with a loud warning) and opens the signing keyring sealed under it;
 * a plaintext keyring from before sealing is rewritten sealed once.
 */
export async function openConfiguredKeys(config: Config, logger: Logger): Promise<ConfiguredKeys> {
  const { key: masterKey } = await resolveMasterKey({ ...config.keys.masterKey, production: config.env === 'production' }, logger);
  const keys = await openLocalKeyManager({
    path: config.keys.keyringPath,
    masterKey,
    onSealed: () => { logger.info({ event: 'keys.keyring_sealed' }, 'the signing keyring was plaintext and is now sealed under the master key'); },
  });
  return { masterKey, keys };
}
