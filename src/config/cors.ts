import { ConfigError, text, type Env } from './readers.js';

/** Browser apps allowed to call the API cross-origin (docs/access-control.md "CORS"). */
export interface CorsConfig {
  /** Exact serialized origins (`https://app.example.org`, `http://localhost:5173`); empty allows none. */
  readonly allowedOrigins: readonly string[];
}

/**
 * CADUCEUS_CORS_ORIGINS: a comma-separated list of exact origins. No
 * wildcard, no `null`, no path: an entry must be its own URL's origin
 * (RFC 6454 §6.2 serialization), so matching is plain string equality.
 * Production allows plain `http` only for loopback development hosts.
 */
export function loadCorsConfig(env: Env, production: boolean): CorsConfig {
  const raw = text(env, 'CADUCEUS_CORS_ORIGINS', '');
  const entries = raw === '' ? [] : raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const origin = URL.canParse(entry) ? new URL(entry) : undefined;
    // WHATWG URL accepts `*` in a host name: refused outright, a wildcard is never an origin here.
    if (
      origin === undefined ||
      origin.origin !== entry ||
      entry.includes('*') ||
      !['https:', 'http:'].includes(origin.protocol)
    ) {
      throw new ConfigError(
        'CADUCEUS_CORS_ORIGINS must list exact origins such as https://app.example.org (scheme, host and port only; no wildcard)',
      );
    }
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(origin.hostname);
    if (production && origin.protocol === 'http:' && !loopback)
      throw new ConfigError('CADUCEUS_CORS_ORIGINS must use https origins in production');
  }
  return Object.freeze({ allowedOrigins: Object.freeze([...new Set(entries)]) });
}
