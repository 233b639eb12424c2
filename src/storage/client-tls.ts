/**
 * node:tls options for the connections to PostgreSQL and Redis
 * (docs/database-tls.md). Verification is never off: `rejectUnauthorized`
 * is set to true explicitly, whatever a driver's default or URL says.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { ClientTlsFiles, PostgresTlsConfig } from '../config/client-tls.js';
import { StorageError } from './errors.js';

/** TLS 1.2 is the floor: PostgreSQL and Redis builds without 1.3 remain common; both are verified the same way. */
const minVersion = 'TLSv1.2';

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    // The path is an operator's, not a client's: still not echoed (StorageError messages are fixed).
    throw new StorageError('open', 'invalid', { cause: error });
  }
}

/** The verified-TLS options for `files`: the CA bundle (or the system's), the client pair when set. */
export function clientTlsOptions(files: ClientTlsFiles): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    minVersion,
    ...(files.caFile !== null && { ca: read(files.caFile) }),
    ...(files.certFile !== null && { cert: read(files.certFile) }),
    ...(files.keyFile !== null && { key: read(files.keyFile) }),
  };
}

/**
 * pg's `ssl` option for a sslmode. `verify-ca` keeps the chain check and
 * skips only the host-name check (libpq's meaning); `verify-full` keeps both.
 */
export function postgresTlsOptions(tls: PostgresTlsConfig): ConnectionOptions {
  const options = clientTlsOptions(tls);
  return tls.mode === 'verify-ca' ? { ...options, checkServerIdentity: () => undefined } : options;
}
