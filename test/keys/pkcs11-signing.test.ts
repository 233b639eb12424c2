/**
 * The PKCS#11 signing keys (src/keys/pkcs11/signing-key-manager.ts) against
 * SoftHSM2: ES256 pairs generated on the token, signatures made by the token
 * verify with the published public key, the private key can never be read or
 * exported, rotation keeps old keys published, and a wrong PIN is refused
 * without echoing it. The token is inspected from outside with a raw session.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import pkcs11js from 'pkcs11js';
import {
  HsmError,
  openPkcs11SigningKeyManager,
  signingLabelPrefix,
  type Pkcs11SigningKeyManager,
} from '../../src/keys/pkcs11/index.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { KeyPurpose } from '../../src/keys/ports.js';
import {
  ckrOf,
  openRawSession,
  setUpSoftHsm,
  softhsmSkip,
  type RawSession,
  type TestToken,
} from '../helpers/softhsm.js';

const skip = await softhsmSkip();
const hsm = skip === false ? await setUpSoftHsm() : undefined;
after(() => hsm?.cleanup());

function open(token: TestToken, pin = token.pin): Promise<Pkcs11SigningKeyManager> {
  return openPkcs11SigningKeyManager({
    modulePath: hsm!.modulePath,
    tokenLabel: token.label,
    pin: { value: pin },
    refreshIntervalMs: 0,
  });
}

/** Private-key objects of a purpose, seen from outside the adapter. */
function privateKeysOf(raw: RawSession, purpose: KeyPurpose): pkcs11js.Handle[] {
  raw.api.C_FindObjectsInit(raw.session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
  try {
    const all = raw.api.C_FindObjects(raw.session, 100);
    return all.filter((handle) =>
      raw.attribute(handle, pkcs11js.CKA_LABEL).toString('utf8').startsWith(signingLabelPrefix(purpose)),
    );
  } finally {
    raw.api.C_FindObjectsFinal(raw.session);
  }
}

test(
  'pkcs11 signing: first open generates one ES256 key per purpose; the token signs and the published key verifies; kid is the RFC 7638 thumbprint',
  { skip, timeout: 60_000 },
  async () => {
    const token = await hsm!.createToken();
    const keys = await open(token);
    try {
      for (const purpose of ['token-signing', 'audit-signing'] as const) {
        const published = await keys.publicKeys(purpose);
        assert.equal(published.length, 1);
        const [key] = published;
        assert.ok(key !== undefined);
        assert.equal(key.alg, 'ES256');
        assert.equal(key.key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
        assert.equal(key.kid, await calculateJwkThumbprint(key.key.export({ format: 'jwk' }), 'sha256'));
        assert.deepEqual(await keys.currentKey(purpose), { kid: key.kid, alg: 'ES256' });

        const data = Buffer.from(`header.payload-${purpose}`);
        const signed = await keys.sign(purpose, data);
        assert.equal(signed.kid, key.kid);
        assert.equal(signed.signature.length, 64, 'JWS ES256 is raw r||s (RFC 7518 §3.4), not DER');
        assert.equal(verify('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }, signed.signature), true);
        // Bad inputs: other data, or a flipped bit in the signature, do not verify.
        assert.equal(
          verify('sha256', Buffer.from('header.other'), { key: key.key, dsaEncoding: 'ieee-p1363' }, signed.signature),
          false,
        );
        const flipped = Buffer.from(signed.signature);
        flipped[10] = (flipped[10] ?? 0) ^ 1;
        assert.equal(verify('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }, flipped), false);
      }
      const token1 = (await keys.publicKeys('token-signing'))[0]?.kid;
      assert.notEqual(token1, (await keys.publicKeys('audit-signing'))[0]?.kid, 'each purpose has its own key');
    } finally {
      await keys.close();
    }
  },
);

test(
  "pkcs11 signing: the private key is sensitive and never extractable, and the published key is the token's own public object",
  { skip, timeout: 60_000 },
  async () => {
    const token = await hsm!.createToken();
    const keys = await open(token);
    const [published] = await keys.publicKeys('token-signing');
    await keys.close();
    assert.ok(published !== undefined);
    const raw = openRawSession(hsm!.modulePath, token);
    try {
      const [handle] = privateKeysOf(raw, 'token-signing');
      assert.ok(handle !== undefined);
      const flag = (type: number): number[] => [...raw.attribute(handle, type)];
      assert.deepEqual(flag(pkcs11js.CKA_SENSITIVE), [1]);
      assert.deepEqual(flag(pkcs11js.CKA_EXTRACTABLE), [0]);
      assert.deepEqual(flag(pkcs11js.CKA_ALWAYS_SENSITIVE), [1]);
      assert.deepEqual(flag(pkcs11js.CKA_NEVER_EXTRACTABLE), [1]);
      assert.deepEqual(flag(pkcs11js.CKA_LOCAL), [1], 'generated on the token, not imported');
      assert.deepEqual(flag(pkcs11js.CKA_SIGN), [1]);
      assert.deepEqual(flag(pkcs11js.CKA_DECRYPT), [0]);
      assert.deepEqual(flag(pkcs11js.CKA_DERIVE), [0]);
      // The private value cannot be read, and the flags cannot be loosened (PKCS#11 v2.40 §4.10).
      assert.throws(
        () => raw.attribute(handle, pkcs11js.CKA_VALUE),
        (error: unknown) => ckrOf(error) === 'CKR_ATTRIBUTE_SENSITIVE',
      );
      assert.throws(() => {
        raw.api.C_SetAttributeValue(raw.session, handle, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]);
      });
      assert.throws(() => {
        raw.api.C_SetAttributeValue(raw.session, handle, [{ type: pkcs11js.CKA_SENSITIVE, value: false }]);
      });
      assert.deepEqual(flag(pkcs11js.CKA_EXTRACTABLE), [0]);

      // The public key object of the same label holds exactly the published point (DER OCTET STRING around 04||X||Y).
      const label = raw.attribute(handle, pkcs11js.CKA_LABEL).toString('utf8');
      const publicObject = raw
        .findByLabel(label)
        .find((candidate) => raw.attribute(candidate, pkcs11js.CKA_CLASS).readUInt32LE(0) === pkcs11js.CKO_PUBLIC_KEY);
      assert.ok(publicObject !== undefined);
      const point = raw.attribute(publicObject, pkcs11js.CKA_EC_POINT);
      const jwk = published.key.export({ format: 'jwk' });
      const expected = Buffer.concat([
        Buffer.of(0x04, 0x41, 0x04),
        Buffer.from(jwk.x ?? '', 'base64url'),
        Buffer.from(jwk.y ?? '', 'base64url'),
      ]);
      assert.deepEqual(point, expected);
      assert.match(label, /^caduceus-token-signing:sig-\d{13}-[0-9a-f]{8}$/);
      assert.equal(
        raw.attribute(handle, pkcs11js.CKA_ID).toString('utf8'),
        label.slice(signingLabelPrefix('token-signing').length),
      );
    } finally {
      raw.close();
    }
  },
);

test(
  'pkcs11 signing: rotate makes a new current key on the token; the old one stays published and a reopened manager agrees',
  { skip, timeout: 60_000 },
  async () => {
    const token = await hsm!.createToken();
    const keys = await open(token);
    let oldKid: string;
    let newKid: string;
    const data = Buffer.from('signed before the rotation');
    let oldSignature: Uint8Array;
    try {
      oldKid = (await keys.currentKey('token-signing')).kid;
      oldSignature = (await keys.sign('token-signing', data)).signature;
      const auditBefore = (await keys.currentKey('audit-signing')).kid;
      newKid = (await keys.rotate('token-signing')).kid;
      assert.notEqual(newKid, oldKid);
      assert.equal((await keys.currentKey('token-signing')).kid, newKid);
      assert.deepEqual(
        (await keys.publicKeys('token-signing')).map((key) => key.kid),
        [newKid, oldKid],
        'newest first, old still published',
      );
      assert.equal((await keys.currentKey('audit-signing')).kid, auditBefore, 'the other purpose is untouched');
      assert.equal((await keys.sign('token-signing', data)).kid, newKid);
    } finally {
      await keys.close();
    }
    await assert.rejects(
      keys.sign('token-signing', data),
      (error: unknown) => error instanceof HsmError && error.kind === 'closed',
    );

    // Another process (here: another handle) finds the same keys and the same current one on the token alone.
    const again = await open(token);
    try {
      const published = await again.publicKeys('token-signing');
      assert.deepEqual(
        published.map((key) => key.kid),
        [newKid, oldKid],
      );
      const old = published.find((key) => key.kid === oldKid);
      assert.ok(old !== undefined);
      assert.equal(verify('sha256', data, { key: old.key, dsaEncoding: 'ieee-p1363' }, oldSignature), true);
    } finally {
      await again.close();
    }
    const raw = openRawSession(hsm!.modulePath, token);
    try {
      assert.equal(privateKeysOf(raw, 'token-signing').length, 2);
      assert.equal(privateKeysOf(raw, 'audit-signing').length, 1);
    } finally {
      raw.close();
    }
  },
);

test(
  'pkcs11 signing: a wrong PIN or an unknown token is refused as a configuration error that names the setting, never the PIN',
  { skip, timeout: 60_000 },
  async () => {
    const token = await hsm!.createToken();
    const wrongPin = `${token.pin}x`;
    await assert.rejects(open(token, wrongPin), (error: unknown) => {
      assert.ok(error instanceof HsmError);
      assert.equal(error.kind, 'configuration');
      assert.equal(error.ckr, 'CKR_PIN_INCORRECT');
      assert.match(error.message, /CADUCEUS_PKCS11_PIN/);
      assert.doesNotMatch(error.message, new RegExp(wrongPin));
      return true;
    });
    await assert.rejects(
      openPkcs11SigningKeyManager({
        modulePath: hsm!.modulePath,
        tokenLabel: 'no-such-token',
        pin: { value: token.pin },
      }),
      (error: unknown) =>
        error instanceof HsmError &&
        error.kind === 'configuration' &&
        /CADUCEUS_PKCS11_TOKEN_LABEL/.test(error.message),
    );
    // Nothing was generated by the refused opens.
    const raw = openRawSession(hsm!.modulePath, token);
    try {
      assert.equal(privateKeysOf(raw, 'token-signing').length, 0);
    } finally {
      raw.close();
    }
  },
);

test('CADUCEUS_SIGNING_KEYS: local by default; pkcs11 needs the CADUCEUS_PKCS11_ settings; other values are refused without echoing them', () => {
  const base = { CADUCEUS_MASTER_KEY: 'c0ffee'.repeat(10) + 'c0de' };
  assert.equal(loadConfig(base, '/tmp').keys.signingKeys, 'local');
  assert.throws(
    () => loadConfig({ ...base, CADUCEUS_SIGNING_KEYS: 'pkcs11' }, '/tmp'),
    (error: unknown) =>
      error instanceof ConfigError && /CADUCEUS_SIGNING_KEYS=pkcs11 needs CADUCEUS_PKCS11_MODULE/.test(error.message),
  );
  assert.throws(
    () => loadConfig({ ...base, CADUCEUS_SIGNING_KEYS: 'hsm-secret-value' }, '/tmp'),
    (error: unknown) =>
      error instanceof ConfigError &&
      /CADUCEUS_SIGNING_KEYS/.test(error.message) &&
      !error.message.includes('hsm-secret-value'),
  );
  const hsmSettings = {
    CADUCEUS_PKCS11_MODULE: '/usr/lib/x.so',
    CADUCEUS_PKCS11_TOKEN_LABEL: 'caduceus',
    CADUCEUS_PKCS11_PIN: '1234',
  };
  const config = loadConfig({ ...base, ...hsmSettings, CADUCEUS_SIGNING_KEYS: 'pkcs11' }, '/tmp');
  assert.deepEqual(
    [config.keys.signingKeys, config.keys.manager],
    ['pkcs11', 'local'],
    'independent of CADUCEUS_KEY_MANAGER',
  );
});
