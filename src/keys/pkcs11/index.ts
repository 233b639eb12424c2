export { openPkcs11KeyWrapper, kekLabelPrefix, type Pkcs11KeyWrapperOptions } from './pkcs11-key-wrapper.js';
export { HsmError, type HsmErrorKind } from './errors.js';
export type { Pkcs11Pin } from './pin.js';
export {
  openPkcs11SigningKeyManager,
  signingLabelPrefix,
  type Pkcs11SigningKeyManager,
  type Pkcs11SigningKeyManagerOptions,
} from './signing-key-manager.js';
