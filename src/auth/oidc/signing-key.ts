/**
 * The token-signing key as oidc-provider sees it: an `ExternalSigningKey`
 * (features.externalSigningSupport) whose `sign` goes through our KeyManager
 * port, so the provider never holds a private key. The same keys sign the
 * gate's tokens and the CLI's (src/auth/issue-token.ts), and the gate trusts
 * exactly the KeyManager's public keys (localIssuerProfile).
 *
 * HSM: a KeyManager adapter over PKCS#11 (src/keys/pkcs11/) plugs in here
 * unchanged: `publicKeys` returns the public halves read from the token, and
 * `sign` runs C_Sign on the token (CKM_ECDSA over the SHA-256 of the input for
 * ES256, CKM_SHA256_RSA_PKCS_PSS for PS256), returning the JWS-format
 * signature (raw r||s for ECDSA). docs/oauth.md "Signing keys" says more.
 */
import { CaduceusError } from '../../errors/index.js';
import type { KeyObject } from 'node:crypto';
import { ExternalSigningKey } from 'oidc-provider';
import type { KeyManager, PublicKeyInfo } from '../../keys/ports.js';

/** Thrown when the KeyManager's current key is no longer the one this provider instance was built with. */
export class SigningKeyRotatedError extends CaduceusError {
  override readonly name = 'SigningKeyRotatedError';
  readonly code = 'SIGNING_KEY_ROTATED';
  readonly operatorSafe = true;
}

/** One token-signing key: public half in process, private half wherever the KeyManager keeps it. */
export class KeyManagerSigningKey extends ExternalSigningKey {
  readonly #keys: KeyManager;
  readonly #info: PublicKeyInfo;

  constructor(keys: KeyManager, info: PublicKeyInfo) {
    super();
    this.#keys = keys;
    this.#info = info;
  }

  override get kid(): string {
    return this.#info.kid;
  }

  override get alg(): string {
    return this.#info.alg;
  }

  override keyObject(): KeyObject {
    return this.#info.key;
  }

  /** JWS signature bytes over `data`; refused when a rotation made another key current (the provider is then rebuilt). */
  override async sign(data: Uint8Array): Promise<Uint8Array> {
    const signed = await this.#keys.sign('token-signing', data);
    if (signed.kid !== this.#info.kid || signed.alg !== this.#info.alg)
      throw new SigningKeyRotatedError('The token-signing key rotated while signing');
    return signed.signature;
  }
}

/**
 * The provider's JWKS: every token-signing key that may still verify, newest
 * (the signing one) first, so tokens signed before a rotation keep verifying
 * at the published jwks_uri until they expire.
 */
export async function providerSigningKeys(
  keys: KeyManager,
): Promise<{ readonly current: PublicKeyInfo; readonly all: KeyManagerSigningKey[] }> {
  const infos = await keys.publicKeys('token-signing');
  const { kid } = await keys.currentKey('token-signing');
  const current = infos.find((info) => info.kid === kid);
  if (current === undefined) throw new Error('The current token-signing key has no public key');
  const ordered = [current, ...infos.filter((info) => info.kid !== kid)];
  return { current, all: ordered.map((info) => new KeyManagerSigningKey(keys, info)) };
}
