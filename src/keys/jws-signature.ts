import { constants, verify, type VerifyKeyObjectInput } from 'node:crypto';
import type { PublicKeyInfo } from './ports.js';

/** node:crypto verify options per JWS algorithm (RFC 7518 §3.3, §3.4, §3.5). */
function verifyOptions(key: PublicKeyInfo): VerifyKeyObjectInput {
  switch (key.alg) {
    case 'ES256':
      // RFC 7518 §3.4: JWS ECDSA signatures are raw r||s, not DER.
      return { key: key.key, dsaEncoding: 'ieee-p1363' };
    case 'PS256':
      // RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash.
      return { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    case 'RS256':
      return { key: key.key, padding: constants.RSA_PKCS1_PADDING };
  }
}

/**
 * Checks a JWS signature (SHA-256 algorithms) synchronously with a KeyObject:
 * off libuv's thread pool, where file and DNS work could queue ahead of it.
 * Any malformed signature or key mismatch is simply `false`.
 */
export function verifyJwsSignature(key: PublicKeyInfo, signingInput: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', signingInput, verifyOptions(key), signature);
  } catch {
    return false;
  }
}
