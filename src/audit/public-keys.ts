/**
 * Audit-signing public keys from a JWK Set (RFC 7517 §5), so the offline
 * verifier can run with only the database and an exported key set.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { PublicKeyInfo, SigningAlgorithm } from '../keys/ports.js';

const ALGORITHMS: readonly string[] = ['ES256', 'PS256', 'RS256'] satisfies SigningAlgorithm[];

/** Imports every public key of a JWK Set; each JWK must name its kid and a supported alg. */
export function publicKeysFromJwks(jwks: unknown): PublicKeyInfo[] {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new TypeError('not a JWK Set: "keys" must be an array');
  return keys.map((entry: unknown, index) => {
    const jwk = entry as JsonWebKey & { kid?: unknown; alg?: unknown };
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new TypeError(`JWK ${index}: kid is required`);
    if (typeof jwk.alg !== 'string' || !ALGORITHMS.includes(jwk.alg))
      throw new TypeError(`JWK ${index}: alg must be ES256, PS256 or RS256`);
    // RFC 7517 §4.2: a private member ("d") must never reach a verifier's key set.
    if ('d' in jwk) throw new TypeError(`JWK ${index}: private key material is not accepted`);
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    return { kid: jwk.kid, alg: jwk.alg as SigningAlgorithm, key };
  });
}
