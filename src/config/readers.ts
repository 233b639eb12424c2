/**
 * The setting readers every loader in config/ shares, and the one error they
 * throw. Messages name the setting, never its value.
 */

import { CaduceusError } from '../errors/index.js';

/** Thrown when a setting is invalid; the message names the setting, never its value. */
export class ConfigError extends CaduceusError {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  readonly operatorSafe = true;
}

/** The environment a loader reads (process.env, or a test's record). */
export type Env = Readonly<Record<string, string | undefined>>;

/** A whole number within bounds; the fallback when unset or empty. */
export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}`);
  return value;
}

/** One of the allowed words; the fallback when unset or empty. */
export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be one of: ${allowed.join(', ')}`);
  return raw as T;
}

/** The raw value; the fallback when unset or empty. */
export function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}
