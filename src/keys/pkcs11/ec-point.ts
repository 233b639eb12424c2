import { createPublicKey, type KeyObject } from 'node:crypto';
import { HsmError } from './errors.js';

/** An uncompressed P-256 point: 0x04 ‖ X (32) ‖ Y (32) (SEC 1 §2.3.3). */
const pointBytes = 65;

/**
 * The P-256 public key of a token's CKA_EC_POINT. PKCS#11 v2.40 says the
 * attribute is the DER encoding of an OCTET STRING holding the point
 * (04 41 04‖X‖Y, as SoftHSM2 returns it); some older modules return the bare
 * point, which is accepted too. Hand-written because it is two fixed-length
 * cases: a general ASN.1 library would add nothing but a dependency.
 */
export function p256PublicKey(ecPoint: Uint8Array): KeyObject {
  const bytes = Buffer.from(ecPoint);
  let point: Buffer;
  if (bytes.length === pointBytes + 2 && bytes[0] === 0x04 && bytes[1] === pointBytes) point = bytes.subarray(2);
  else if (bytes.length === pointBytes) point = bytes;
  else
    throw new HsmError(
      'integrity',
      'A signing key on the PKCS#11 token has a public point that is not an uncompressed P-256 point',
    );
  if (point[0] !== 0x04)
    throw new HsmError('integrity', 'A signing key on the PKCS#11 token has a compressed or malformed public point');
  try {
    // createPublicKey checks that the point is on the curve.
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    throw new HsmError('integrity', 'A signing key on the PKCS#11 token has a public point that is not on P-256');
  }
}
