import path from 'node:path';
import { parseCidrList, type CidrBlock } from '../lib/cidr.js';
import { loadMonitoringConfig } from './monitoring.js';
import { loadCorsConfig } from './cors.js';
import { loadPostgresTls, loadRedisTls } from './client-tls.js';
import { loadExternalIssuers } from './external-issuers.js';
import { loadLoginConfig } from './login.js';
import { loadOAuthConfig } from './oauth.js';
import { loadSharedSecrets } from './shared-secrets.js';
import { loadMtlsConfig } from './mtls.js';
import { loadKeyProtectionConfig } from './keys.js';
import { loadPkcs11Config } from './pkcs11.js';
import { loadUsersConfig } from './users.js';
import { parseRateLimitPolicies, RateLimitSettingError, type RateLimitConfig } from './rate-limit-policies.js';
import { ConfigError, integer, oneOf, text, type Env } from './readers.js';
import type { Config, EdgeConfig } from './schema.js';

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

function cidrs(env: Env, name: string): CidrBlock[] {
  const blocks = parseCidrList(text(env, name, ''));
  if (blocks === null) throw new ConfigError(`${name} must be a comma-separated list of IP addresses or CIDR blocks`);
  return blocks;
}

/** docs/edge.md: the edge layer's lists, limits and signature mode. */
function edgeConfig(env: Env): EdgeConfig {
  return {
    trustedProxies: cidrs(env, 'CADUCEUS_TRUSTED_PROXIES'),
    allowList: cidrs(env, 'CADUCEUS_IP_ALLOW_LIST'),
    denyList: cidrs(env, 'CADUCEUS_IP_DENY_LIST'),
    maxUrlBytes: integer(env, 'CADUCEUS_MAX_URL_BYTES', 8192, 256, 1_048_576),
    maxHeaderCount: integer(env, 'CADUCEUS_MAX_HEADERS', 100, 8, 1000),
    maxQueryParams: integer(env, 'CADUCEUS_MAX_QUERY_PARAMS', 50, 1, 1000),
    maxConnectionsPerIp: integer(env, 'CADUCEUS_MAX_CONNECTIONS_PER_IP', 256, 0, 1_000_000),
    suspiciousInput: oneOf(env, 'CADUCEUS_SUSPICIOUS_INPUT', ['report', 'block'], 'report'),
  };
}

/** docs/rate-limits.md: policies per route class (or `off`), and what happens while Redis is unreachable. */
function rateLimitConfig(env: Env): RateLimitConfig {
  try {
    return {
      policies: parseRateLimitPolicies(text(env, 'CADUCEUS_RATE_LIMIT', '')),
      redisFailure: oneOf(env, 'CADUCEUS_RATE_LIMIT_REDIS_FAILURE', ['local', 'closed'], 'local'),
    };
  } catch (error) {
    if (error instanceof RateLimitSettingError) throw new ConfigError(`CADUCEUS_RATE_LIMIT ${error.message}`);
    throw error;
  }
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Reads, validates and freezes the configuration; the only reader of
 * process.env. `terminal`: whether standard output is a terminal, which
 * picks the default log format.
 */
export function loadConfig(
  env: Env = process.env,
  cwd: string = process.cwd(),
  terminal: boolean = process.stdout.isTTY,
): Config {
  const mode = oneOf(env, 'CADUCEUS_ENV', ['development', 'production'], 'development');
  const port = integer(env, 'CADUCEUS_PORT', 8443, 0, 65535);
  const dataDir = path.resolve(cwd, text(env, 'CADUCEUS_DATA_DIR', './data'));
  const databaseUrl = text(env, 'CADUCEUS_DATABASE_URL', path.join(dataDir, 'caduceus.db'));
  const certPath = env.CADUCEUS_TLS_CERT;
  const keyPath = env.CADUCEUS_TLS_KEY;
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError('CADUCEUS_TLS_CERT and CADUCEUS_TLS_KEY must be set together');
  }
  // The issuer is in every token and cookie: processes sharing a PostgreSQL database must name the same one, not each its own port.
  if (mode === 'production' && /^postgres(?:ql)?:\/\//.test(databaseUrl) && text(env, 'CADUCEUS_ISSUER', '') === '')
    throw new ConfigError(
      'CADUCEUS_ISSUER must be set in production on PostgreSQL (every process must name the same issuer)',
    );
  const issuer = url(env, 'CADUCEUS_ISSUER', `https://localhost:${port}`);
  const defaultPageSize = integer(env, 'CADUCEUS_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = integer(env, 'CADUCEUS_MAX_PAGE_SIZE', 100, 1, 1000);
  if (defaultPageSize > maxPageSize) throw new ConfigError('CADUCEUS_PAGE_SIZE must not exceed CADUCEUS_MAX_PAGE_SIZE');

  const pkcs11 = loadPkcs11Config(env, cwd);

  const config: Config = {
    env: mode,
    host: text(env, 'CADUCEUS_HOST', '127.0.0.1'),
    port,
    dataDir,
    databaseUrl:
      databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://') || databaseUrl === ':memory:'
        ? databaseUrl
        : path.resolve(cwd, databaseUrl),
    tls:
      certPath !== undefined && keyPath !== undefined
        ? { certPath: path.resolve(cwd, certPath), keyPath: path.resolve(cwd, keyPath), generated: false }
        : { certPath: path.join(dataDir, 'dev-cert.pem'), keyPath: path.join(dataDir, 'dev-key.pem'), generated: true },
    mtls: loadMtlsConfig(env, cwd, port),
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
      externalIssuers: loadExternalIssuers(env, cwd, issuer),
    },
    keys: {
      keyringPath: path.resolve(cwd, text(env, 'CADUCEUS_KEYRING', path.join(dataDir, 'keyring.json'))),
      pkcs11,
      ...loadKeyProtectionConfig(env, {
        production: mode === 'production',
        dataDir,
        cwd,
        pkcs11Configured: pkcs11 !== null,
      }),
    },
    audit: {
      checkpointIntervalMs: integer(env, 'CADUCEUS_AUDIT_CHECKPOINT_MS', 60_000, 100, 86_400_000),
      exportMaxRecords: integer(env, 'CADUCEUS_AUDIT_EXPORT_MAX_RECORDS', 100_000, 1, 10_000_000),
    },
    edge: edgeConfig(env),
    cors: loadCorsConfig(env, mode === 'production'),
    breakers: {
      databaseTimeoutMs: integer(env, 'CADUCEUS_DB_TIMEOUT_MS', 5_000, 50, 600_000),
      resetMs: integer(env, 'CADUCEUS_BREAKER_RESET_MS', 10_000, 100, 600_000),
    },
    monitoring: loadMonitoringConfig(env),
    oauth: loadOAuthConfig(env),
    sharedSecrets: loadSharedSecrets(env, cwd),
    login: loadLoginConfig(env, issuer),
    users: loadUsersConfig(env),
    rateLimit: rateLimitConfig(env),
    redisUrl: redisUrl(env),
    redisTls: loadRedisTls(env, redisUrl(env), cwd),
    databaseTls: loadPostgresTls(env, databaseUrl, cwd),
    fips: oneOf(env, 'CADUCEUS_FIPS', ['on', 'off'], 'off') === 'on',
    logLevel: oneOf(env, 'CADUCEUS_LOG_LEVEL', logLevels, 'info'),
    // Pretty only for a developer watching a terminal: a pipe, a file, a container's log collector and production get JSON.
    logFormat: oneOf(
      env,
      'CADUCEUS_LOG_FORMAT',
      ['json', 'pretty'],
      mode === 'development' && terminal ? 'pretty' : 'json',
    ),
    shutdownGraceMs: integer(env, 'CADUCEUS_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    shutdownDrainMs: integer(env, 'CADUCEUS_SHUTDOWN_DRAIN_MS', 1_000, 0, 60_000),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}
