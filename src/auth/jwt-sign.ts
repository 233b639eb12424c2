/**
 * Compact JWS signing through the key-manager port (RFC 7515 §7.1). jose's
 * SignJWT is not used on purpose: it needs the private key in this process,
 * while the key may live in an HSM that only signs (node-oidc-provider's
 * ExternalSigningKey pattern). The JWS is assembled here around the key
 * manager's signature, which is already in JWS format (raw r||s for ECDSA).
 */
import { base64url } from 'jose';
import type { KeyManager, KeyPurpose } from '../keys/ports.js';

const encoder = new TextEncoder();

/** Signs `payload` as a compact JWS with the purpose's current key; `alg` and `kid` come from that key. */
export async function signJwt(
  keys: KeyManager,
  purpose: KeyPurpose,
  header: { typ: string },
  payload: object,
): Promise<string> {
  const encodedPayload = base64url.encode(JSON.stringify(payload));
  // A rotation between currentKey and sign would leave a header naming the wrong key:
  // the signature reports its kid, and a mismatch is retried with the new key.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { kid, alg } = await keys.currentKey(purpose);
    const encodedHeader = base64url.encode(JSON.stringify({ ...header, alg, kid }));
    const signingInput = `${encodedHeader}.${encodedPayload}`;
    const signed = await keys.sign(purpose, encoder.encode(signingInput));
    if (signed.kid === kid && signed.alg === alg) return `${signingInput}.${base64url.encode(signed.signature)}`;
  }
  throw new Error('The signing key kept changing while signing');
}
