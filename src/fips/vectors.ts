/**
 * Known-answer vectors of the FIPS self-tests. The digests, HMAC, PBKDF2
 * and AES-GCM answers are published ones (FIPS 180-4 examples "abc", RFC 4231
 * test case 2, the PBKDF2-HMAC-SHA-256 analogue of RFC 6070's 4096-iteration
 * case, McGrew & Viega GCM test case 16). The ECDSA and RSA-PSS signatures
 * were made once with fresh keys, whose private halves were discarded: only
 * verification is tested, as the self-test needs no private key.
 */

/** FIPS 180-4 example message. */
export const digestInput = 'abc';
export const sha256Abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
export const sha384Abc =
  'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7';

/** RFC 4231 §4.3, test case 2. */
export const hmacSha256 = {
  key: 'Jefe',
  data: 'what do ya want for nothing?',
  mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
};

/** Sizes within SP 800-132's floors (a FIPS provider refuses shorter salts and fewer iterations). */
export const pbkdf2Sha256 = {
  password: 'passwordPASSWORDpassword',
  salt: 'saltSALTsaltSALTsaltSALTsaltSALTsalt',
  iterations: 4096,
  derived: '348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9',
};

/** McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, with AAD). */
export const aes256Gcm = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  iv: 'cafebabefacedbaddecaf888',
  plaintext:
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
  ciphertext:
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  tag: '76fc6ece0f4e1768cddf8853bb2d551b',
};

/** The message both signatures cover. */
export const signedMessage = 'Caduceus FIPS known-answer test v1';

/** ECDSA P-256 with SHA-256, signature as JWS raw r||s. */
export const ecdsaP256 = {
  jwk: {
    kty: 'EC',
    crv: 'P-256',
    x: '4F3f-E8rpNRSZMRM5xj1AzaFLomff303OtSfYZU7l1E',
    y: 'mgqgSSIGzOYCMU6SMjc_2tcyCpL7PkZFfjJi_Q1VfjA',
  },
  signature:
    '7ebcd26d4dff91142870a90ca7112a01f980267e80759acc6a81dcd2c5e4dea111696df02a3968ea1d0577d0a52536057d0b' +
    'bd257f806f7366f255bf373b7720',
};

/** RSASSA-PSS, 2048-bit, SHA-256, MGF1-SHA-256, 32-byte salt (JWS PS256). */
export const rsaPss2048 = {
  jwk: {
    kty: 'RSA',
    e: 'AQAB',
    n:
      'xGeafJ8XF0KXndefMaIemmNoO1VufLhpE8m7jczFpw-u3nVKuqQfj3tgNVHHx3lOjHljiy9jl2Chkd8ExeavlG2aHImv-2dz4ZNu' +
      'Q_qFWWRQ49m3SdIhN_Bdl179QLE-fPMcwbeK8z9-SolLwuaxm7wRkQ8zKqsYv--bDtWFDw822WzHRt0B8EUS3KJjZ9E0OxJhp0UJ' +
      'nJT7XZOwL_RH53w57RTV_DN1a_paaLF-0QqBl59p-H06QZODfQ8bJ-rwQx1Y9EZq42yK9-i5toA3rz7aS0sYW-ZgZLAYqCO3_HPy' +
      '_Geg-UvXHJesAFwt7rYGthbDYLdY0-B5_GA4LNDjcQ',
  },
  signature:
    'c33538d1fcdc1069de3ff167d6e0447e2aa32d3ad00b91f8d106fc116ba7e56647d13f2bb7921d35610747334f32c0b664ac' +
    '37c0a1bf7091468766214abd132ce41ddbefd7980c559d823143226e732d9af17467ad3058b53f681391763b17a7834ddeab' +
    'e7c0885a1bbe5242e9ebd7c103cd6fedf038b17817558a085f984f221ccf7318c72fecd2359953b35b6daf6bb20b6eb20757' +
    'f3eb20c46873f178252671226b7accfdd2fa99d2ef5fdfbe4d44960aa7316395daf5f861b91a35b430efd927049cad908dfd' +
    '99df7dadab55f74e6cea1e29d52df835117a5269a34a82d66672b567309ad9399eddd451f54f518e05ddbfb6a08b81042d4f' +
    'b9611283daad',
};
