/**
 * Bearer-token verification (request path step 3): an RFC 9068 access token
 * in, a Principal out, or a TokenError. The checks run in one visible order:
 * size and shape, header, issuer profile, key, signature, claims, revocation.
 */
import { hash } from 'node:crypto';
import { verifyJwsSignature } from '../keys/jws-signature.js';
import type { PublicKeyInfo } from '../keys/ports.js';
import type { IssuerProfile } from './issuer-profile.js';
import { createLruCache } from '../lib/lru-cache.js';
import type { Principal } from '../http/principal.js';
import type { RevocationChecker } from './revocation.js';
import { isExpired, principalFromClaims } from './token-claims.js';
import { TokenError } from './token-error.js';
import { checkHeaderForProfile, maxTokenLength, parseToken, type TokenParts } from './token-parts.js';

/** Turns a bearer token into the Principal it proves. */
export interface TokenVerifier {
  /** Resolves to the Principal, or rejects with a TokenError (AUTH_ERROR, `reason` for the audit log). */
  verify(token: string): Promise<Principal>;
}

/** Options of the token verifier. */
export interface TokenVerifierOptions {
  /** Every trusted issuer; a token's `iss` must equal one of them exactly. */
  readonly profiles: readonly IssuerProfile[];
  /** This API's identifier, required in `aud`. */
  readonly audience: string;
  readonly clockSkewSeconds: number;
  readonly revocation: RevocationChecker;
  /** Milliseconds since the epoch; Date.now by default. */
  readonly now?: () => number;
  /** Verified tokens remembered; 10 000 by default. */
  readonly cacheSize?: number;
}

function checkOptions(options: TokenVerifierOptions): void {
  if (options.profiles.length === 0) throw new TypeError('At least one issuer profile is required');
  const issuers = new Set(options.profiles.map((profile) => profile.issuer));
  if (issuers.size !== options.profiles.length || issuers.has(''))
    throw new TypeError('Issuer profiles need distinct, non-empty issuers');
  if (options.profiles.some((profile) => profile.algorithms.length === 0))
    throw new TypeError('Every issuer profile needs an algorithm');
  if (options.audience === '') throw new TypeError('The audience must not be empty');
  const skew = options.clockSkewSeconds;
  if (!Number.isInteger(skew) || skew < 0 || skew > 300)
    throw new RangeError('clockSkewSeconds must be an integer from 0 to 300');
}

async function loadKeys(load: () => Promise<PublicKeyInfo[]>): Promise<PublicKeyInfo[]> {
  try {
    return await load();
  } catch {
    throw new TokenError('keys_unavailable');
  }
}

async function findKey(profile: IssuerProfile, parts: TokenParts): Promise<PublicKeyInfo> {
  // The kid selects; the key's own algorithm must also be the header's, so a key is only ever used one way.
  const matches = (candidate: PublicKeyInfo): boolean => candidate.kid === parts.kid && candidate.alg === parts.alg;
  let key = (await loadKeys(() => profile.keys())).find(matches);
  // A remote IdP may have rotated: its profile refetches (rate-limited by its cooldown).
  if (key === undefined && profile.refreshKeys !== undefined) {
    const refresh = profile.refreshKeys.bind(profile);
    key = (await loadKeys(refresh)).find(matches);
  }
  if (key === undefined) throw new TokenError('unknown_key');
  return key;
}

/**
 * Verifies the JWS signature synchronously with node:crypto. jose runs on Web
 * Crypto, which Node serves from the libuv thread pool, where file and DNS
 * work could queue ahead of it, and every request waits for verification.
 */
function verifiedClaims(token: string, key: PublicKeyInfo): Record<string, unknown> {
  const lastDot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
  if (!verifyJwsSignature(key, Buffer.from(token.slice(0, lastDot), 'ascii'), signature))
    throw new TokenError('bad_signature');
  try {
    const payload = Buffer.from(token.slice(token.indexOf('.') + 1, lastDot), 'base64url');
    const claims: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    if (typeof claims === 'object' && claims !== null && !Array.isArray(claims))
      return claims as Record<string, unknown>;
  } catch {
    // Falls through to the refusal below.
  }
  throw new TokenError('malformed');
}

/** Creates a verifier over the configured issuer profiles; it caches verified tokens per instance. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  checkOptions(options);
  const profiles = new Map(options.profiles.map((profile) => [profile.issuer, profile]));
  const { audience, clockSkewSeconds, revocation } = options;
  const now = options.now ?? Date.now;
  // Keyed by the token's SHA-256, so the cache never holds a usable bearer token.
  const cache = createLruCache<Principal>(options.cacheSize ?? 10_000);

  async function verifyFresh(token: string, nowSeconds: number): Promise<Principal> {
    const parts = parseToken(token);
    // The unverified `iss` only chooses whose keys to try; the same bytes are then
    // covered by the signature and `iss` is checked again on the verified claims.
    const issuer = parts.unverifiedClaims.iss;
    const profile = typeof issuer === 'string' ? profiles.get(issuer) : undefined;
    if (profile === undefined) throw new TokenError('unknown_issuer');
    checkHeaderForProfile(parts, profile);
    const key = await findKey(profile, parts);
    const claims = verifiedClaims(token, key);
    const mapped = profile.mapClaims === undefined ? claims : profile.mapClaims(claims);
    return principalFromClaims(mapped, {
      issuer: profile.issuer,
      audience: profile.audience ?? audience,
      clockSkewSeconds,
      now: nowSeconds,
    });
  }

  async function checkRevocation(principal: Principal): Promise<void> {
    let revoked: boolean;
    try {
      revoked = await revocation.isRevoked(principal);
    } catch {
      throw new TokenError('revocation_unavailable');
    }
    if (revoked) throw new TokenError('revoked');
  }

  return {
    async verify(token) {
      // Before hashing or decoding anything: an oversize string costs nothing more.
      if (typeof token !== 'string' || token === '') throw new TokenError('malformed');
      if (token.length > maxTokenLength) throw new TokenError('too_large');
      const nowSeconds = now() / 1000;
      const cacheKey = hash('sha256', token, 'base64url');
      let principal = cache.get(cacheKey);
      if (principal !== undefined && isExpired(principal.expiresAt, nowSeconds, clockSkewSeconds)) {
        cache.delete(cacheKey);
        throw new TokenError('expired');
      }
      if (principal === undefined) {
        principal = await verifyFresh(token, nowSeconds);
        cache.set(cacheKey, principal);
      }
      // Every call, cached or not: a revocation takes effect on the next request.
      await checkRevocation(principal);
      return principal;
    },
  };
}
