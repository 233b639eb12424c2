export type { Config } from './schema.js';
export { loadConfig, ConfigError } from './load.js';
export { settings, type Setting } from './settings.js';
