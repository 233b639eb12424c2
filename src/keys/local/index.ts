export { openLocalKeyManager, type LocalKeyManager, type LocalKeyManagerOptions } from './local-key-manager.js';
export { KeyringError } from './keyring.js';
