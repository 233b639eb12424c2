import path from 'node:path';
import { ConfigError, integer, text, type Env } from './readers.js';

/**
 * The device listener (docs/tls.md): mutual TLS on a port of its own, so
 * browsers on the main listener are never asked for a certificate
 * (RFC 8705 §5 `mtls_endpoint_aliases`).
 */
export interface MtlsConfig {
  /** Port of the mutual-TLS listener (0 picks a free one); it binds to CADUCEUS_HOST. */
  readonly port: number;
  /** PEM bundle of the CA(s) that issue device certificates; only their certificates are accepted. */
  readonly caPath: string;
  /** Public base URL of the listener, without a trailing slash: what the authorization server publishes as `mtls_endpoint_aliases`. */
  readonly publicUrl: string;
}

/** Reads CADUCEUS_MTLS_*; null when CADUCEUS_MTLS_PORT is unset (the default: no device listener). */
export function loadMtlsConfig(env: Env, cwd: string, mainPort: number): MtlsConfig | null {
  const rawPort = text(env, 'CADUCEUS_MTLS_PORT', '');
  const rawCa = text(env, 'CADUCEUS_MTLS_CA', '');
  const rawUrl = text(env, 'CADUCEUS_MTLS_URL', '');
  if (rawPort === '') {
    if (rawCa !== '' || rawUrl !== '')
      throw new ConfigError('CADUCEUS_MTLS_CA and CADUCEUS_MTLS_URL need CADUCEUS_MTLS_PORT');
    return null;
  }
  const port = integer(env, 'CADUCEUS_MTLS_PORT', 0, 0, 65535);
  if (port !== 0 && port === mainPort) throw new ConfigError('CADUCEUS_MTLS_PORT must differ from CADUCEUS_PORT');
  if (rawCa === '') throw new ConfigError('CADUCEUS_MTLS_PORT needs CADUCEUS_MTLS_CA (the device CA bundle)');
  const publicUrl = rawUrl === '' ? `https://localhost:${port}` : rawUrl;
  if (!URL.canParse(publicUrl) || new URL(publicUrl).protocol !== 'https:')
    throw new ConfigError('CADUCEUS_MTLS_URL must be an https:// URL');
  return { port, caPath: path.resolve(cwd, rawCa), publicUrl: publicUrl.replace(/\/+$/, '') };
}
