/**
 * The checks a bearer token passes before any signature work: size, compact
 * JWS shape, and a JOSE header this API is willing to act on.
 */
import { base64url } from 'jose';
import type { SigningAlgorithm } from '../keys/ports.js';
import type { AcceptedTokenType, IssuerProfile } from './issuer-profile.js';
import { TokenError } from './token-error.js';

/** Largest accepted token, in characters: checked before anything is decoded. */
export const maxTokenLength = 8192;

/** Three base64url segments (RFC 7515 §7.1); a JWE or a JWS with an unencoded payload fails here. */
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Header parameters that would let the token choose its own verification key
 * or change how it is processed (RFC 8725 §3.10, §2.2): refused outright.
 */
const forbiddenHeaders = ['jwk', 'jku', 'x5u', 'x5c', 'crit', 'b64'] as const;

const asymmetric: readonly string[] = ['ES256', 'PS256', 'RS256'] satisfies SigningAlgorithm[];

/** A token split into its parts, with the header and (still unverified) claims decoded. */
export interface TokenParts {
  readonly header: Readonly<Record<string, unknown>>;
  /** Claims before the signature is checked: used only to choose the issuer profile. */
  readonly unverifiedClaims: Readonly<Record<string, unknown>>;
  readonly alg: SigningAlgorithm;
  readonly kid: string;
}

function decodeJsonObject(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(segment)));
  } catch {
    throw new TokenError('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenError('malformed');
  return value as Record<string, unknown>;
}

/** Splits and decodes a compact JWS, refusing oversize, malformed and dangerous tokens. */
export function parseToken(token: string): TokenParts {
  if (token.length > maxTokenLength) throw new TokenError('too_large');
  if (!compactJws.test(token)) throw new TokenError('malformed');
  const [headerSegment = '', payloadSegment = ''] = token.split('.');
  const header = decodeJsonObject(headerSegment);
  if (forbiddenHeaders.some((name) => name in header)) throw new TokenError('forbidden_header');
  const { alg, kid } = header;
  // Never `none`, never HMAC: a public key must never double as an HMAC secret (RFC 8725 §2.1, §3.1).
  if (typeof alg !== 'string' || !asymmetric.includes(alg)) throw new TokenError('bad_algorithm');
  if (typeof kid !== 'string' || kid === '') throw new TokenError('unknown_key');
  return { header, unverifiedClaims: decodeJsonObject(payloadSegment), alg: alg as SigningAlgorithm, kid };
}

/** A subject worth recording: an identifier's characters, bounded. */
const claimedSubjectShape = /^[A-Za-z0-9._:@|-]{1,128}$/;

/**
 * The `sub` a refused token claims, unverified, when it is shaped like an
 * identifier; otherwise null. It is what the caller said, like the username
 * of a failed login: audited as such (never as the actor), so that bursts of
 * refused tokens against one account can be detected.
 */
export function claimedSubjectOf(token: string): string | null {
  try {
    const { sub } = parseToken(token).unverifiedClaims;
    return typeof sub === 'string' && claimedSubjectShape.test(sub) ? sub : null;
  } catch {
    return null;
  }
}

/**
 * The `typ` header as one of the accepted types, or undefined. RFC 7515
 * §4.1.9: compared case-insensitively, with `application/` optional.
 */
function tokenType(typ: unknown): AcceptedTokenType | undefined {
  if (typeof typ !== 'string') return undefined;
  const type = typ.toLowerCase().replace(/^application\//, '');
  if (type === 'at+jwt') return 'at+jwt';
  if (type === 'jwt') return 'JWT';
  return undefined;
}

/** RFC 9068 §4: `typ` must be `at+jwt`, unless the profile also accepts `JWT`; the `alg` must be the profile's. */
export function checkHeaderForProfile(parts: TokenParts, profile: IssuerProfile): void {
  const type = tokenType(parts.header.typ);
  const accepted: readonly AcceptedTokenType[] = typeof profile.typ === 'string' ? [profile.typ] : profile.typ;
  if (type === undefined || !accepted.includes(type)) throw new TokenError('bad_type');
  if (!profile.algorithms.includes(parts.alg)) throw new TokenError('bad_algorithm');
}
