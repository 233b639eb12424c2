/**
 * TLS of the connections Caduceus opens to PostgreSQL and Redis
 * (docs/database-tls.md). When TLS is asked for, the server's certificate is
 * always verified: there is no setting, and no URL parameter, that turns
 * verification off (pg's `sslmode=no-verify` and `require` included).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, oneOf, text, type Env } from './readers.js';

/** Files of a verified TLS client connection; null fields fall back to the system trust store / no client certificate. */
export interface ClientTlsFiles {
  /** PEM bundle of the CAs that may sign the server's certificate. */
  readonly caFile: string | null;
  /** PEM client certificate and key, for servers that require one (set together). */
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

/** PostgreSQL TLS, libpq's sslmode names: `verify-full` checks chain and host name, `verify-ca` the chain only. */
export interface PostgresTlsConfig extends ClientTlsFiles {
  readonly mode: 'verify-full' | 'verify-ca';
}

function caFile(env: Env, name: string, cwd: string): string | null {
  const raw = text(env, name, '');
  if (raw === '') return null;
  const file = path.resolve(cwd, raw);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${name} cannot be read`);
  }
  try {
    // Parses the first certificate of the bundle: a wrong file fails at start, not at the first connection.
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${name} must be a PEM file of CA certificates`);
  }
  return file;
}

/** The three file settings of one connection, named in full so that test/config/config.test.ts sees them. */
interface FileSettings {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

function files(env: Env, names: FileSettings, cwd: string): ClientTlsFiles {
  const cert = text(env, names.cert, '');
  const key = text(env, names.key, '');
  if ((cert === '') !== (key === '')) throw new ConfigError(`${names.cert} and ${names.key} must be set together`);
  return {
    caFile: caFile(env, names.ca, cwd),
    certFile: cert === '' ? null : path.resolve(cwd, cert),
    keyFile: key === '' ? null : path.resolve(cwd, key),
  };
}

function anySet(tls: ClientTlsFiles): boolean {
  return tls.caFile !== null || tls.certFile !== null;
}

/** pg reads these from the URL and some of them turn verification off; TLS is set through our settings only. */
function hasTlsUrlParameter(url: URL): boolean {
  return [...url.searchParams.keys()].some(
    (key) => key.toLowerCase().startsWith('ssl') || key.toLowerCase() === 'uselibpqcompat',
  );
}

/**
 * CADUCEUS_DATABASE_SSLMODE and the CA/client files. TLS is requested by a
 * mode other than `disable` or by any of the files; requested without a
 * mode it is `verify-full` (libpq's safest).
 */
export function loadPostgresTls(env: Env, databaseUrl: string, cwd: string): PostgresTlsConfig | null {
  const tls = files(
    env,
    { ca: 'CADUCEUS_DATABASE_CA_FILE', cert: 'CADUCEUS_DATABASE_CERT_FILE', key: 'CADUCEUS_DATABASE_KEY_FILE' },
    cwd,
  );
  const requested = text(env, 'CADUCEUS_DATABASE_SSLMODE', '');
  const mode = oneOf(
    env,
    'CADUCEUS_DATABASE_SSLMODE',
    ['disable', 'verify-ca', 'verify-full'],
    anySet(tls) ? 'verify-full' : 'disable',
  );
  const postgres = databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://');
  if (!postgres) {
    if (requested !== '' || anySet(tls))
      throw new ConfigError(
        'CADUCEUS_DATABASE_SSLMODE and the CADUCEUS_DATABASE_*_FILE settings apply to a postgres:// URL only',
      );
    return null;
  }
  if (URL.canParse(databaseUrl) && hasTlsUrlParameter(new URL(databaseUrl))) {
    throw new ConfigError(
      'CADUCEUS_DATABASE_URL must not carry ssl parameters; use CADUCEUS_DATABASE_SSLMODE and CADUCEUS_DATABASE_CA_FILE',
    );
  }
  if (mode === 'disable') {
    if (anySet(tls))
      throw new ConfigError('CADUCEUS_DATABASE_SSLMODE=disable contradicts the CADUCEUS_DATABASE_*_FILE settings');
    return null;
  }
  return { mode, ...tls };
}

/** The Redis URL's TLS files: `rediss://` asks for TLS, always verified with host name (CADUCEUS_REDIS_*_FILE). */
export function loadRedisTls(env: Env, redisUrl: string | null, cwd: string): ClientTlsFiles | null {
  const tls = files(
    env,
    { ca: 'CADUCEUS_REDIS_CA_FILE', cert: 'CADUCEUS_REDIS_CERT_FILE', key: 'CADUCEUS_REDIS_KEY_FILE' },
    cwd,
  );
  if (redisUrl === null || new URL(redisUrl).protocol !== 'rediss:') {
    if (anySet(tls)) throw new ConfigError('the CADUCEUS_REDIS_*_FILE settings need a rediss:// CADUCEUS_REDIS_URL');
    return null;
  }
  // ioredis copies URL query parameters into its options: none may touch TLS.
  if (
    [...new URL(redisUrl).searchParams.keys()].some((key) =>
      /^(tls|ssl|rejectunauthorized|ca|cert|key|servername)/i.test(key),
    )
  ) {
    throw new ConfigError('CADUCEUS_REDIS_URL must not carry TLS parameters; use the CADUCEUS_REDIS_*_FILE settings');
  }
  return tls;
}
