/**
 * Known-answer self-tests run at start in FIPS mode (FIPS 140-3 §7.10
 * pre-operational and conditional self-tests, for the algorithms this
 * application uses). The validated module runs its own; these prove that the
 * module Node is actually linked to answers as the standards say, through
 * the same node:crypto calls the application makes.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPublicKey,
  hash,
  pbkdf2Sync,
  verify,
} from 'node:crypto';
import * as vectors from './vectors.js';

/** One known-answer test: true when the module gave the known answer. */
export interface SelfTest {
  readonly name: string;
  run(): boolean;
}

const hex = (value: string): Buffer => Buffer.from(value, 'hex');

function aesGcm(): boolean {
  const v = vectors.aes256Gcm;
  const cipher = createCipheriv('aes-256-gcm', hex(v.key), hex(v.iv)).setAAD(hex(v.aad));
  const sealed = Buffer.concat([cipher.update(hex(v.plaintext)), cipher.final()]);
  if (sealed.toString('hex') !== v.ciphertext || cipher.getAuthTag().toString('hex') !== v.tag) return false;
  const decipher = createDecipheriv('aes-256-gcm', hex(v.key), hex(v.iv)).setAAD(hex(v.aad)).setAuthTag(hex(v.tag));
  if (Buffer.concat([decipher.update(sealed), decipher.final()]).toString('hex') !== v.plaintext) return false;
  // The tag must also refuse: a flipped ciphertext bit fails to open.
  const tampered = Buffer.from(sealed);
  tampered[0] = (tampered[0] ?? 0) ^ 1;
  const refusing = createDecipheriv('aes-256-gcm', hex(v.key), hex(v.iv)).setAAD(hex(v.aad)).setAuthTag(hex(v.tag));
  try {
    refusing.update(tampered);
    refusing.final();
    return false;
  } catch {
    return true;
  }
}

/** A verification must accept the known signature and refuse it with one bit changed. */
function verifies(check: (signature: Buffer) => boolean, signature: string): boolean {
  const good = hex(signature);
  const bad = Buffer.from(good);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  return check(good) && !check(bad);
}

function ecdsa(): boolean {
  const key = createPublicKey({ key: vectors.ecdsaP256.jwk, format: 'jwk' });
  const message = Buffer.from(vectors.signedMessage);
  return verifies(
    (signature) => verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature),
    vectors.ecdsaP256.signature,
  );
}

function rsaPss(): boolean {
  const key = createPublicKey({ key: vectors.rsaPss2048.jwk, format: 'jwk' });
  const message = Buffer.from(vectors.signedMessage);
  const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  return verifies((signature) => verify('sha256', message, options, signature), vectors.rsaPss2048.signature);
}

/** The self-tests of every algorithm family Caduceus uses (docs/fips.md "Self-tests"). */
export const knownAnswerTests: readonly SelfTest[] = [
  { name: 'AES-256-GCM', run: aesGcm },
  { name: 'SHA-256', run: () => hash('sha256', vectors.digestInput, 'hex') === vectors.sha256Abc },
  { name: 'SHA-384', run: () => hash('sha384', vectors.digestInput, 'hex') === vectors.sha384Abc },
  {
    name: 'HMAC-SHA-256',
    run: () =>
      createHmac('sha256', vectors.hmacSha256.key).update(vectors.hmacSha256.data).digest('hex') ===
      vectors.hmacSha256.mac,
  },
  { name: 'ECDSA P-256 SHA-256 verify', run: ecdsa },
  { name: 'RSA-PSS 2048 SHA-256 verify', run: rsaPss },
  {
    name: 'PBKDF2-HMAC-SHA-256',
    run: () => {
      const v = vectors.pbkdf2Sha256;
      return pbkdf2Sync(v.password, v.salt, v.iterations, v.derived.length / 2, 'sha256').toString('hex') === v.derived;
    },
  },
];

/** Runs every test; a test that throws has failed. Returns the names of the failed ones. */
export function runSelfTests(tests: readonly SelfTest[] = knownAnswerTests): string[] {
  const failed: string[] = [];
  for (const test of tests) {
    let passed: boolean;
    try {
      passed = test.run();
    } catch {
      passed = false;
    }
    if (!passed) failed.push(test.name);
  }
  return failed;
}
