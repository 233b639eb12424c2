/**
 * An identity provider's JWK Set (RFC 7517 §5) turned into verification
 * keys. Only public signing keys of the profile's algorithms survive:
 * RSA of 2048 bits or more, EC on P-256; private members, encryption keys and
 * anything else are dropped (RFC 8725 §3.1: a key is used one way only).
 */
import { CaduceusError } from '../../errors/index.js';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { PublicKeyInfo, SigningAlgorithm } from '../../keys/ports.js';

/** Why a JWK Set was refused as a whole. */
export class JwksFormatError extends CaduceusError {
  override readonly name = 'JwksFormatError';
  readonly code = 'JWKS_INVALID';
  readonly operatorSafe = true;
}

/** Most keys one set may hold: IdPs publish a handful; a huge set is an attack or a mistake. */
const maxKeys = 100;
/** NIST SP 800-131A / FIPS 186-5: RSA signatures need a modulus of at least 2048 bits. */
const minRsaBits = 2048;

const rsaAlgorithms: readonly SigningAlgorithm[] = ['RS256', 'PS256'];

type Jwk = Readonly<Record<string, unknown>>;

function keyObject(jwk: Jwk): KeyObject | null {
  // Only the public members are handed to node:crypto: a set that leaks `d` still yields a public key.
  const publicPart =
    jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  try {
    const key = createPublicKey({ key: publicPart as JsonWebKey, format: 'jwk' });
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= minRsaBits) return key;
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return key;
  } catch {
    // An unparseable key is dropped like an unsupported one.
  }
  return null;
}

/** The algorithms one JWK may verify under the profile: its own `alg`, or every profile algorithm of its key type. */
function algorithmsOf(jwk: Jwk, allowed: readonly SigningAlgorithm[]): SigningAlgorithm[] {
  const fitting = allowed.filter((alg) =>
    jwk.kty === 'RSA' ? rsaAlgorithms.includes(alg) : alg === 'ES256' && jwk.crv === 'P-256',
  );
  // Entra ID publishes RSA keys without `alg`; Keycloak and Okta name it.
  if (jwk.alg === undefined) return fitting;
  return fitting.filter((alg) => alg === jwk.alg);
}

function usable(jwk: Jwk): boolean {
  if (typeof jwk.kid !== 'string' || jwk.kid === '' || jwk.kid.length > 256) return false;
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  return jwk.key_ops === undefined || (Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'));
}

/** The verification keys of a parsed JWK Set for the allowed algorithms; refuses what is not a JWK Set. */
export function keysFromJwks(document: unknown, allowed: readonly SigningAlgorithm[]): PublicKeyInfo[] {
  const keys = typeof document === 'object' && document !== null ? (document as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw new JwksFormatError('not a JWK Set');
  if (keys.length > maxKeys) throw new JwksFormatError('too many keys');
  const result: PublicKeyInfo[] = [];
  for (const entry of keys) {
    if (typeof entry !== 'object' || entry === null || !usable(entry as Jwk)) continue;
    const jwk = entry as Jwk;
    const algorithms = algorithmsOf(jwk, allowed);
    const key = algorithms.length === 0 ? null : keyObject(jwk);
    if (key === null) continue;
    for (const alg of algorithms) result.push({ kid: jwk.kid as string, alg, key });
  }
  return result;
}
