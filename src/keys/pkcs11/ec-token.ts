/**
 * The Cryptoki calls of the PKCS#11 signing keys (src/keys/pkcs11/signing-key-manager.ts):
 * P-256 key pairs generated on the token and CKM_ECDSA signatures, over the
 * same library sharing and TokenSession (queue, bounds, re-login) as the
 * key-encryption keys of token.ts. Nothing outside this folder sees a pkcs11js type.
 */
import pkcs11js from 'pkcs11js';
import { findAll, startTokenSession, type ObjectHandle, type TokenOptions } from './token.js';

/** DER of the P-256 curve's OID 1.2.840.10045.3.1.7 (secp256r1), the CKA_EC_PARAMS of every key (PKCS#11 v2.40 curr. mech. §2.3.3). */
export const p256Parameters = Buffer.from('06082a8648ce3d030107', 'hex');

/** A signing key pair on the token: both halves share CKA_LABEL and CKA_ID. */
export interface FoundKeyPair {
  readonly privateKey: ObjectHandle;
  readonly label: string;
  readonly id: Buffer;
  /** CKA_EC_POINT of the public half, as the token returns it (normally a DER OCTET STRING). */
  readonly ecPoint: Buffer;
}

/** A logged-in token: find, generate and use P-256 signing keys that stay on it. */
export interface EcToken {
  /** Every EC private key on the token whose label starts with `labelPrefix`, with its public half's point; pairs without a public half are left out. */
  findKeyPairs(labelPrefix: string): Promise<FoundKeyPair[]>;
  /** C_GenerateKeyPair with CKM_EC_KEY_PAIR_GEN on P-256: the private key is made by the token and never leaves it. */
  generateP256KeyPair(label: string, id: Uint8Array): Promise<void>;
  /** CKM_ECDSA over a 32-byte SHA-256 digest: the raw r‖s signature (64 bytes), which is already JWS format (RFC 7518 §3.4). */
  signDigest(key: ObjectHandle, digest: Uint8Array): Promise<Buffer>;
  close(): Promise<void>;
}

function bufferOf(value: pkcs11js.Attribute['value']): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.alloc(0);
}

/** Private-key template: sensitive, never extractable, sign only (so the token sets CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE). */
function privateTemplate(label: string, id: Buffer): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
}

/** Public-key template: readable without login (it is published at /jwks anyway), verify only. */
function publicTemplate(label: string, id: Buffer): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_EC_PARAMS, value: p256Parameters },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_VERIFY, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_WRAP, value: false },
  ];
}

function listPairs(api: pkcs11js.PKCS11, session: pkcs11js.Handle, labelPrefix: string): FoundKeyPair[] {
  const pairs: FoundKeyPair[] = [];
  const privateKeys = findAll(api, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_TOKEN, value: true },
  ]);
  for (const handle of privateKeys) {
    const [label, id] = api.C_GetAttributeValue(session, handle, [
      { type: pkcs11js.CKA_LABEL },
      { type: pkcs11js.CKA_ID },
    ]);
    const labelText = bufferOf(label?.value).toString('utf8');
    if (!labelText.startsWith(labelPrefix)) continue;
    const idBytes = bufferOf(id?.value);
    // The public half is the public-key object with the same CKA_ID and label (the usual PKCS#11 pairing).
    const [publicKey] = findAll(api, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_ID, value: idBytes },
      { type: pkcs11js.CKA_LABEL, value: labelText },
    ]);
    if (publicKey === undefined) continue;
    const [point] = api.C_GetAttributeValue(session, publicKey, [{ type: pkcs11js.CKA_EC_POINT }]);
    pairs.push({ privateKey: handle as ObjectHandle, label: labelText, id: idBytes, ecPoint: bufferOf(point?.value) });
  }
  return pairs;
}

/** Loads the module (or shares it with the key wrapper), finds the token by label and logs in; a bad module, label or PIN rejects with kind `configuration`. */
export async function openEcToken(options: TokenOptions): Promise<EcToken> {
  const { session, close } = await startTokenSession(options);
  return {
    findKeyPairs: (labelPrefix) => session.run(({ api, session: s }) => listPairs(api, s, labelPrefix)),

    generateP256KeyPair: async (label, id) => {
      const bytes = Buffer.from(id);
      await session.run(({ api, session: s }) =>
        api.C_GenerateKeyPairAsync(
          s,
          { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
          publicTemplate(label, bytes),
          privateTemplate(label, bytes),
        ),
      );
    },

    signDigest: (key, digest) =>
      session.run(({ api, session: s }) => {
        api.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key);
        // P-256: r and s are 32 bytes each.
        return api.C_SignAsync(s, Buffer.from(digest), Buffer.alloc(64));
      }),

    close,
  };
}
