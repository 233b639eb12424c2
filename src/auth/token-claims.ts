/**
 * The claim checks of an RFC 9068 access token, after its signature held,
 * and the Principal they prove.
 */
import { isRole, type Principal } from '../http/principal.js';
import { TokenError } from './token-error.js';

type Claims = Readonly<Record<string, unknown>>;

/** What the claims are checked against. */
export interface ClaimRules {
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewSeconds: number;
  /** Seconds since the epoch. */
  readonly now: number;
}

function requiredString(claims: Claims, name: string): string {
  const value = claims[name];
  if (value === undefined) throw new TokenError('missing_claim');
  if (typeof value !== 'string' || value === '') throw new TokenError('bad_claim');
  return value;
}

function optionalString(claims: Claims, name: string): string | null {
  const value = claims[name];
  if (value === undefined) return null;
  if (typeof value !== 'string' || value === '') throw new TokenError('bad_claim');
  return value;
}

function requiredTime(claims: Claims, name: string): number {
  const value = claims[name];
  if (value === undefined) throw new TokenError('missing_claim');
  // RFC 7519 §2 NumericDate: a JSON number of seconds.
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TokenError('bad_claim');
  return value;
}

/** RFC 7519 §4.1.4: valid only before `exp`, give or take the tolerated skew. */
export function isExpired(expiresAt: number, now: number, clockSkewSeconds: number): boolean {
  return now >= expiresAt + clockSkewSeconds;
}

function checkTimes(claims: Claims, rules: ClaimRules): { issuedAt: number; expiresAt: number } {
  const expiresAt = requiredTime(claims, 'exp');
  const issuedAt = requiredTime(claims, 'iat');
  if (isExpired(expiresAt, rules.now, rules.clockSkewSeconds)) throw new TokenError('expired');
  // RFC 7519 §4.1.5: not accepted before `nbf`.
  if (claims.nbf !== undefined) {
    const notBefore = requiredTime(claims, 'nbf');
    if (notBefore > rules.now + rules.clockSkewSeconds) throw new TokenError('not_yet_valid');
  }
  // A token "issued" in the future comes from a broken or hostile clock: refused.
  if (issuedAt > rules.now + rules.clockSkewSeconds) throw new TokenError('issued_in_future');
  return { issuedAt, expiresAt };
}

function checkAudience(claims: Claims, audience: string): void {
  const aud = claims.aud;
  // RFC 9068 §4: the resource server must find its own identifier in `aud`.
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (audiences === undefined) throw new TokenError(aud === undefined ? 'missing_claim' : 'bad_claim');
  if (!audiences.includes(audience)) throw new TokenError('bad_audience');
}

function scopes(claims: Claims): readonly string[] {
  const scope = claims.scope;
  if (scope === undefined) return [];
  // RFC 9068 §2.2.3 / RFC 6749 §3.3: one space-delimited string.
  if (typeof scope !== 'string') throw new TokenError('bad_claim');
  return Object.freeze(scope.split(' ').filter((token) => token !== ''));
}

function amr(claims: Claims): readonly string[] {
  const value = claims.amr;
  if (value === undefined) return [];
  // OIDC Core §2: an array of strings.
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw new TokenError('bad_claim');
  return Object.freeze([...value] as string[]);
}

function certificateThumbprint(claims: Claims): string | null {
  const cnf = claims.cnf;
  if (cnf === undefined) return null;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw new TokenError('bad_claim');
  // RFC 8705 §3.1: the base64url SHA-256 thumbprint of the client certificate.
  return optionalString(cnf as Claims, 'x5t#S256');
}

function grantId(claims: Claims): string | null {
  return optionalString(claims, 'grant_id') ?? optionalString(claims, 'sid');
}

/** Checks the verified claims and builds the frozen Principal they prove. */
export function principalFromClaims(claims: Claims, rules: ClaimRules): Principal {
  if (claims.iss !== rules.issuer) throw new TokenError('unknown_issuer');
  checkAudience(claims, rules.audience);
  const { issuedAt, expiresAt } = checkTimes(claims, rules);
  const subject = requiredString(claims, 'sub');
  const clientId = requiredString(claims, 'client_id');
  const tokenId = requiredString(claims, 'jti');
  const role = claims.role;
  if (!isRole(role)) throw new TokenError('unknown_role');
  return Object.freeze({
    subject,
    clientId,
    role,
    scopes: scopes(claims),
    patient: optionalString(claims, 'patient'),
    grantId: grantId(claims),
    amr: amr(claims),
    acr: optionalString(claims, 'acr'),
    certificateThumbprint: certificateThumbprint(claims),
    tokenId,
    issuer: rules.issuer,
    issuedAt,
    expiresAt,
  });
}
