/**
 * A thin typed facade over pkcs11js (STYLE.md #7): the few Cryptoki calls the
 * adapter needs, with our own types, bounded and serialized by TokenSession.
 * Nothing outside src/keys/pkcs11/ sees a pkcs11js type.
 */
import pkcs11js from 'pkcs11js';
import { ckrName, HsmError } from './errors.js';
import { acquireLibrary } from './library.js';
import { TokenSession } from './session.js';

/** An object on the token, valid while the module stays initialized. */
export type ObjectHandle = Buffer & { readonly __pkcs11Object: true };

/** Attributes of a new AES-256 secret key (PKCS#11 v2.40 §4.4, §4.7). */
export interface SecretKeyAttributes {
  readonly label: string;
  readonly id: Uint8Array;
  /** CKA_TOKEN: kept by the token across sessions and restarts. */
  readonly token: boolean;
  /** CKA_SENSITIVE: its value can never be read out in clear. */
  readonly sensitive: boolean;
  /** CKA_EXTRACTABLE: it can be wrapped (exported) under another key. */
  readonly extractable: boolean;
  readonly encrypt: boolean;
  readonly decrypt: boolean;
  readonly wrap: boolean;
  readonly unwrap: boolean;
}

/** A secret key found on the token. */
export interface FoundKey {
  readonly handle: ObjectHandle;
  readonly label: string;
  readonly id: Buffer;
}

/** CKM_AES_GCM parameters: a 96-bit IV and additional authenticated data; the tag is 128 bits. */
export interface GcmParameters {
  readonly iv: Uint8Array;
  readonly aad: Uint8Array;
}

/** How to reach the token. */
export interface TokenOptions {
  /** The PKCS#11 module (.so) file. */
  readonly modulePath: string;
  /** CKA_LABEL of the token (CK_TOKEN_INFO.label). */
  readonly tokenLabel: string;
  /** The user PIN; kept in memory only to log in again after a lost session. */
  readonly pin: string;
  /** Bound on each asynchronous HSM call, ms (default 5000). */
  readonly callTimeoutMs?: number;
}

/** A logged-in token: find, generate and use AES keys that stay on it. */
export interface Pkcs11Token {
  /** Every AES secret key stored on the token (CKA_TOKEN=true) that the user can see. */
  findAesKeys(): Promise<FoundKey[]>;
  /** C_GenerateKey with CKM_AES_KEY_GEN, 256 bits: the value is made by the token and stays there. */
  generateAes256Key(attributes: SecretKeyAttributes): Promise<ObjectHandle>;
  /** One-part AES-GCM encryption on the token; returns ciphertext followed by the 16-byte tag. */
  encryptAesGcm(key: ObjectHandle, parameters: GcmParameters, plaintext: Uint8Array): Promise<Buffer>;
  /** One-part AES-GCM decryption; rejects with kind `integrity` when the tag does not match. */
  decryptAesGcm(key: ObjectHandle, parameters: GcmParameters, ciphertext: Uint8Array): Promise<Buffer>;
  /** Closes this handle's session and gives the module back (the last user finalizes it). */
  close(): Promise<void>;
}

const tagBytes = 16;
const findBatch = 256;

/** Decryption refusals that mean "these bytes do not open under this key", not "the HSM failed" (SoftHSM2 answers a bad tag with CKR_GENERAL_ERROR). */
const integrityFailures = new Set([
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  'CKR_GENERAL_ERROR',
  'CKR_DATA_LEN_RANGE',
]);

function gcm(parameters: GcmParameters): pkcs11js.Mechanism {
  const parameter: pkcs11js.AesGCM = {
    type: pkcs11js.CK_PARAMS_AES_GCM,
    iv: Buffer.from(parameters.iv),
    aad: Buffer.from(parameters.aad),
    ivBits: parameters.iv.length * 8,
    tagBits: tagBytes * 8,
  };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

function keyTemplate(attributes: SecretKeyAttributes): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_LABEL, value: attributes.label },
    { type: pkcs11js.CKA_ID, value: Buffer.from(attributes.id) },
    { type: pkcs11js.CKA_TOKEN, value: attributes.token },
    // CKA_PRIVATE: only a logged-in user sees it at all.
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: attributes.sensitive },
    { type: pkcs11js.CKA_EXTRACTABLE, value: attributes.extractable },
    { type: pkcs11js.CKA_ENCRYPT, value: attributes.encrypt },
    { type: pkcs11js.CKA_DECRYPT, value: attributes.decrypt },
    { type: pkcs11js.CKA_WRAP, value: attributes.wrap },
    { type: pkcs11js.CKA_UNWRAP, value: attributes.unwrap },
    { type: pkcs11js.CKA_SIGN, value: false },
    { type: pkcs11js.CKA_VERIFY, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
}

/** Every object handle matching `template`, in batches (also used by ec-token.ts). */
export function findAll(
  api: pkcs11js.PKCS11,
  session: pkcs11js.Handle,
  template: pkcs11js.Template,
): pkcs11js.Handle[] {
  api.C_FindObjectsInit(session, template);
  try {
    const found: pkcs11js.Handle[] = [];
    for (;;) {
      const batch = api.C_FindObjects(session, findBatch);
      found.push(...batch);
      if (batch.length < findBatch) return found;
    }
  } finally {
    api.C_FindObjectsFinal(session);
  }
}

function describe(api: pkcs11js.PKCS11, session: pkcs11js.Handle, handle: pkcs11js.Handle): FoundKey {
  const [label, id] = api.C_GetAttributeValue(session, handle, [
    { type: pkcs11js.CKA_LABEL },
    { type: pkcs11js.CKA_ID },
  ]);
  return {
    handle: handle as ObjectHandle,
    label: Buffer.isBuffer(label?.value) ? label.value.toString('utf8') : '',
    id: Buffer.isBuffer(id?.value) ? id.value : Buffer.alloc(0),
  };
}

/**
 * Loads the module (shared by every user of it), finds the token by label and
 * logs in; rejects with kind `configuration` on a bad module, label or PIN.
 * `close` ends the session and releases the module once, however often called.
 */
export async function startTokenSession(
  options: TokenOptions,
): Promise<{ readonly session: TokenSession; readonly close: () => Promise<void> }> {
  const library = await acquireLibrary(options.modulePath);
  const session = new TokenSession({
    library,
    tokenLabel: options.tokenLabel,
    pin: options.pin,
    callTimeoutMs: options.callTimeoutMs ?? 5000,
  });
  try {
    await session.start();
  } catch (error) {
    await session.close();
    library.release();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    session,
    close: () => {
      closing ??= session.close().finally(() => {
        library.release();
      });
      return closing;
    },
  };
}

/** The key-encryption-key facade over a logged-in session (startTokenSession). */
export async function openToken(options: TokenOptions): Promise<Pkcs11Token> {
  const { session, close } = await startTokenSession(options);
  return {
    findAesKeys: () =>
      session.run(({ api, session: s }) =>
        findAll(api, s, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_TOKEN, value: true },
        ]).map((handle) => describe(api, s, handle)),
      ),

    generateAes256Key: async (attributes) => {
      const handle = await session.run(({ api, session: s }) =>
        api.C_GenerateKeyAsync(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, keyTemplate(attributes)),
      );
      return handle as ObjectHandle;
    },

    encryptAesGcm: (key, parameters, plaintext) =>
      session.run(({ api, session: s }) => {
        api.C_EncryptInit(s, gcm(parameters), key);
        return api.C_EncryptAsync(s, Buffer.from(plaintext), Buffer.alloc(plaintext.length + tagBytes));
      }),

    decryptAesGcm: async (key, parameters, ciphertext) => {
      try {
        return await session.run(({ api, session: s }) => {
          api.C_DecryptInit(s, gcm(parameters), key);
          return api.C_DecryptAsync(s, Buffer.from(ciphertext), Buffer.alloc(ciphertext.length));
        });
      } catch (error) {
        const ckr = ckrName(error);
        if (
          error instanceof HsmError &&
          error.kind === 'unavailable' &&
          ckr !== undefined &&
          integrityFailures.has(ckr)
        ) {
          throw new HsmError('integrity', 'The wrapped key does not open under its key-encryption key', ckr);
        }
        throw error;
      }
    },

    close,
  };
}
