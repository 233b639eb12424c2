import { parseCidrList, type CidrBlock } from '../lib/cidr.js';
import { ConfigError, integer, text, type Env } from './readers.js';

/** Token lifetimes of the authorization server (docs/oauth.md). */
export interface OAuthConfig {
  /** Lifetime of an access token, seconds; 15 minutes by default: a leaked token is soon useless (docs/oauth.md). */
  readonly accessTokenTtlSeconds: number;
  /**
   * Absolute lifetime of a chain of refresh tokens, seconds: rotation hands
   * out a new token but never extends the chain past its first issue.
   */
  readonly refreshTokenTtlSeconds: number;
  /** Addresses a client's jwks_uri host may resolve to although internal (loopback, private, link-local). */
  readonly jwksFetchAllow: readonly CidrBlock[];
}

/** Reads the authorization-server settings (called by loadConfig only). */
export function loadOAuthConfig(env: Env): OAuthConfig {
  // At most an hour: the gate keeps revocations a day, and a short token is the real control (RFC 9068 §4 / RFC 9700 §4.13).
  const accessTokenTtlSeconds = integer(env, 'CADUCEUS_ACCESS_TOKEN_TTL_SECONDS', 900, 60, 3600);
  const refreshTokenTtlSeconds = integer(env, 'CADUCEUS_REFRESH_TOKEN_TTL_SECONDS', 28_800, 300, 2_592_000);
  if (refreshTokenTtlSeconds <= accessTokenTtlSeconds) {
    throw new ConfigError('CADUCEUS_REFRESH_TOKEN_TTL_SECONDS must exceed CADUCEUS_ACCESS_TOKEN_TTL_SECONDS');
  }
  // SSRF guard: a client's jwks_uri reaching an internal address is refused unless listed here (docs/oauth.md).
  const jwksFetchAllow = parseCidrList(text(env, 'CADUCEUS_JWKS_FETCH_ALLOW', ''));
  if (jwksFetchAllow === null)
    throw new ConfigError('CADUCEUS_JWKS_FETCH_ALLOW must list IP addresses or CIDR subnets, comma-separated');
  return { accessTokenTtlSeconds, refreshTokenTtlSeconds, jwksFetchAllow: Object.freeze(jwksFetchAllow) };
}
