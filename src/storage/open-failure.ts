/**
 * Failures to reach the database at start, said so an operator can fix them:
 * the file or host:port they configured, the cause in words and the setting,
 * never credentials, SQL or the driver's message (which may quote either).
 */
import { fileErrorCause, systemErrorCode } from '../lib/system-error.js';
import { StorageError } from './errors.js';

/** The settings that place the database; the CLI prints them as "(set …)". */
const sqliteSettings = 'CADUCEUS_DATA_DIR or CADUCEUS_DATABASE_URL';
const postgresSetting = 'CADUCEUS_DATABASE_URL';

/** What SQLite's primary result codes mean for the file the operator named. */
const sqliteCauses: Readonly<Record<string, string>> = {
  SQLITE_CANTOPEN: 'SQLite cannot open the file',
  SQLITE_READONLY: 'the file is read-only',
  SQLITE_PERM: 'permission denied',
  SQLITE_FULL: 'the disk is full',
  SQLITE_NOTADB: 'the file is not a SQLite database',
  SQLITE_CORRUPT: 'the file is corrupt',
};

/** What network and PostgreSQL codes (SQLSTATE) mean when connecting. */
const connectCauses: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the server closed the connection',
  '28P01': 'the password was refused',
  '28000': 'the server refused the login',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'the server has too many connections',
};

/** SQLite's extended codes (SQLITE_CANTOPEN_ISDIR) by their primary code. */
function sqliteCause(code: string | undefined): string | undefined {
  const primary = /^SQLITE_[A-Z]+/.exec(code ?? '')?.[0];
  return primary === undefined ? undefined : sqliteCauses[primary];
}

/**
 * The StorageError for a SQLite database that did not open: with the path and
 * the settings when the cause is the file or its folder, else `error` as the
 * adapter made it.
 */
export function sqliteOpenFailure(file: string, error: StorageError): StorageError {
  const cause = fileErrorCause(error.cause) ?? sqliteCause(systemErrorCode(error.cause));
  if (cause === undefined) return error;
  return new StorageError('open', 'unavailable', {
    message: `cannot open the SQLite database ${file}: ${cause}`,
    setting: sqliteSettings,
    cause: error.cause,
  });
}

/** `host:port` of a postgres:// URL: never the user, password or parameters. */
export function postgresAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname === '' ? 'localhost' : parsed.hostname}:${parsed.port === '' ? '5432' : parsed.port}`;
  } catch {
    return 'the configured address';
  }
}

/**
 * The StorageError for a PostgreSQL server that could not be reached or
 * refused the login: naming `address` (postgresAddress) and the setting, else `error` as is.
 */
export function postgresConnectFailure(address: string, error: StorageError): StorageError {
  const code = systemErrorCode(error.cause);
  const cause =
    (code === undefined ? undefined : connectCauses[code]) ??
    (error.reason === 'unavailable' && code === undefined ? 'no answer in time' : undefined);
  if (cause === undefined) return error;
  return new StorageError(error.operation, 'unavailable', {
    message: `cannot connect to PostgreSQL at ${address}: ${cause}`,
    setting: postgresSetting,
    cause: error.cause,
  });
}
