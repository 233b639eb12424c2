import path from 'node:path';
import type { Config } from './schema.js';

/** Thrown when a setting is invalid; the message names the setting, never its value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of: ${allowed.join(', ')}`);
  return raw as T;
}

function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

function url(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (!URL.canParse(value)) throw new ConfigError(`${name} must be an absolute URL`);
  return value.replace(/\/+$/, '');
}

function redisUrl(env: Env): string | null {
  const raw = text(env, 'CADUCEUS_REDIS_URL', '');
  if (raw === '') return null;
  if (!URL.canParse(raw) || !['redis:', 'rediss:'].includes(new URL(raw).protocol)) {
    throw new ConfigError('CADUCEUS_REDIS_URL must be a redis:// or rediss:// URL');
  }
  return raw;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads, validates and freezes the configuration; the only reader of process.env. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const mode = oneOf(env, 'CADUCEUS_ENV', ['development', 'production'], 'development');
  const port = integer(env, 'CADUCEUS_PORT', 8443, 0, 65535);
  const dataDir = path.resolve(cwd, text(env, 'CADUCEUS_DATA_DIR', './data'));
  const databaseUrl = text(env, 'CADUCEUS_DATABASE_URL', path.join(dataDir, 'caduceus.db'));
  const certPath = env.CADUCEUS_TLS_CERT;
  const keyPath = env.CADUCEUS_TLS_KEY;
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError('CADUCEUS_TLS_CERT and CADUCEUS_TLS_KEY must be set together');
  }
  const issuer = url(env, 'CADUCEUS_ISSUER', `https://localhost:${port}`);
  const defaultPageSize = integer(env, 'CADUCEUS_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = integer(env, 'CADUCEUS_MAX_PAGE_SIZE', 100, 1, 1000);
  if (defaultPageSize > maxPageSize) throw new ConfigError('CADUCEUS_PAGE_SIZE must not exceed CADUCEUS_MAX_PAGE_SIZE');

  const config: Config = {
    env: mode,
    host: text(env, 'CADUCEUS_HOST', '127.0.0.1'),
    port,
    dataDir,
    databaseUrl: databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://') || databaseUrl === ':memory:'
      ? databaseUrl
      : path.resolve(cwd, databaseUrl),
    tls: certPath !== undefined && keyPath !== undefined
      ? { certPath: path.resolve(cwd, certPath), keyPath: path.resolve(cwd, keyPath), generated: false }
      : { certPath: path.join(dataDir, 'dev-cert.pem'), keyPath: path.join(dataDir, 'dev-key.pem'), generated: true },
    limits: {
      bodyBytes: integer(env, 'CADUCEUS_BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
      headerBytes: integer(env, 'CADUCEUS_HEADER_LIMIT_BYTES', 16_384, 1024, 1_048_576),
      headersTimeoutMs: integer(env, 'CADUCEUS_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      requestTimeoutMs: integer(env, 'CADUCEUS_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
      defaultPageSize,
      maxPageSize,
    },
    auth: {
      issuer,
      audience: url(env, 'CADUCEUS_AUDIENCE', `${issuer}/api/v1`),
      clockSkewSeconds: integer(env, 'CADUCEUS_CLOCK_SKEW_SECONDS', 30, 0, 300),
    },
    keys: { keyringPath: path.resolve(cwd, text(env, 'CADUCEUS_KEYRING', path.join(dataDir, 'keyring.json'))) },
    audit: { checkpointIntervalMs: integer(env, 'CADUCEUS_AUDIT_CHECKPOINT_MS', 60_000, 100, 86_400_000) },
    redisUrl: redisUrl(env),
    logLevel: oneOf(env, 'CADUCEUS_LOG_LEVEL', logLevels, 'info'),
    shutdownGraceMs: integer(env, 'CADUCEUS_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}
