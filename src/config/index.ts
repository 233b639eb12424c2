export type { Config, EdgeConfig } from './schema.js';
export type { CidrBlock } from '../lib/cidr.js';
export type { Pkcs11Config } from './pkcs11.js';
export type { MtlsConfig } from './mtls.js';
export { loadConfig } from './load.js';
export { ConfigError } from './readers.js';
export { settings, type Setting } from './settings.js';
