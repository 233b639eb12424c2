export { openPkcs11KeyWrapper, kekLabelPrefix, type Pkcs11KeyWrapperOptions } from './pkcs11-key-wrapper.js';
export { HsmError, type HsmErrorKind } from './errors.js';
export type { Pkcs11Pin } from './pin.js';
