/**
 * Access tokens the operator CLI signs, with the keys the authorization
 * server (oidc-provider) signs with: RFC 9068 JWTs, `typ: at+jwt`.
 */
import { randomBytes } from 'node:crypto';
import type { KeyManager } from '../keys/ports.js';
import { isThumbprint } from '../lib/certificate-thumbprint.js';
import { signJwt } from './jwt-sign.js';
import { isRole, type Role } from '../http/principal.js';

/** Longest lifetime of a token issued here, in seconds: the CLI's cap. */
export const maxAccessTokenTtlSeconds = 3600;

/** What an issued access token says. */
export interface AccessTokenClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly clientId: string;
  readonly role: Role;
  readonly scopes: readonly string[];
  /** The Patient id of a patient-context token. */
  readonly patient?: string;
  /** Lifetime in seconds, 1 to 3600. */
  readonly ttlSeconds: number;
  readonly grantId?: string;
  readonly amr?: readonly string[];
  /** RFC 8705 §3.1 `cnf.x5t#S256`: binds the token to the client certificate with this thumbprint. */
  readonly certificateThumbprint?: string;
}

/** A signed token, its id and expiry (seconds since the epoch), for revocation and audit. */
export interface IssuedToken {
  readonly token: string;
  readonly jti: string;
  readonly expiresAt: number;
}

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function checkClaims(claims: AccessTokenClaims): void {
  const { ttlSeconds } = claims;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxAccessTokenTtlSeconds) {
    throw new RangeError(`ttlSeconds must be a whole number from 1 to ${maxAccessTokenTtlSeconds}`);
  }
  for (const [name, value] of [
    ['issuer', claims.issuer],
    ['audience', claims.audience],
    ['subject', claims.subject],
    ['clientId', claims.clientId],
  ] as const) {
    if (value === '') throw new RangeError(`${name} must not be empty`);
  }
  if (!isRole(claims.role)) throw new RangeError('role is not a known role');
  if (!claims.scopes.every((scope) => scopeToken.test(scope)))
    throw new RangeError('scopes must be RFC 6749 scope tokens');
  if (claims.patient === '' || claims.grantId === '')
    throw new RangeError('patient and grantId must not be empty when given');
  if (claims.certificateThumbprint !== undefined && !isThumbprint(claims.certificateThumbprint))
    throw new RangeError('certificateThumbprint must be a base64url SHA-256');
}

/** Signs an RFC 9068 access token with the key manager's current token-signing key. */
export async function issueAccessToken(
  keys: KeyManager,
  claims: AccessTokenClaims,
  now: number = Date.now(),
): Promise<IssuedToken> {
  checkClaims(claims);
  const issuedAt = Math.floor(now / 1000);
  const expiresAt = issuedAt + claims.ttlSeconds;
  // 128 random bits: unguessable and unique enough to key revocation (RFC 9068 §2.2, RFC 7519 §4.1.7).
  const jti = randomBytes(16).toString('base64url');
  const payload = {
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.audience,
    exp: expiresAt,
    iat: issuedAt,
    jti,
    client_id: claims.clientId,
    scope: claims.scopes.join(' '),
    role: claims.role,
    ...(claims.patient === undefined ? {} : { patient: claims.patient }),
    ...(claims.grantId === undefined ? {} : { grant_id: claims.grantId }),
    ...(claims.amr === undefined ? {} : { amr: [...claims.amr] }),
    ...(claims.certificateThumbprint === undefined ? {} : { cnf: { 'x5t#S256': claims.certificateThumbprint } }),
  };
  // RFC 9068 §2.1: typ "at+jwt" keeps an access token from passing as an ID token.
  const token = await signJwt(keys, 'token-signing', { typ: 'at+jwt' }, payload);
  return { token, jti, expiresAt };
}
