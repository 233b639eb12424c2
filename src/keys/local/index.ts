export { openLocalKeyManager, type LocalKeyManager, type LocalKeyManagerOptions } from './local-key-manager.js';
export { openLocalKeyWrapper, type LocalKeyWrapperOptions } from './local-key-wrapper.js';
export {
  MasterKey,
  MasterKeyError,
  decodeMasterKey,
  resolveMasterKey,
  type MasterKeySettings,
  type ResolvedMasterKey,
} from './master-key.js';
export { KeyringError } from './keyring.js';
export { openConfiguredKeys, type ConfiguredKeys } from './open-configured.js';
