/**
 * The parts of external IdP mode that need no network (docs/external-idp.md):
 * which JWKS keys survive, and how Keycloak-, Entra- and Okta-shaped claims
 * map onto ours.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { JwksFormatError, keysFromJwks, mapExternalClaims, parseIssuersFile } from '../../src/auth/external/index.js';
import { TokenError } from '../../src/auth/token-error.js';

function rsaJwk(bits: number, extra: Record<string, unknown>): Record<string, unknown> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    ...publicKey.export({ format: 'jwk' }),
    ...extra,
    ...(extra.d === true && { d: privateKey.export({ format: 'jwk' }).d }),
  };
}

test("only public signing keys of the profile's algorithms and approved sizes survive a JWK Set", () => {
  const ec = {
    ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
    kid: 'ec1',
    alg: 'ES256',
  };
  const p384 = {
    ...generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }),
    kid: 'ec384',
  };
  const set = {
    keys: [
      rsaJwk(2048, { kid: 'good', alg: 'RS256', use: 'sig' }),
      // Entra ID: no `alg`, so every RSA algorithm of the profile applies.
      rsaJwk(2048, { kid: 'entra', use: 'sig' }),
      rsaJwk(1024, { kid: 'short', alg: 'RS256' }),
      rsaJwk(2048, { kid: 'enc', alg: 'RSA-OAEP', use: 'enc' }),
      rsaJwk(2048, { kid: 'leaky', alg: 'RS256', d: true }),
      rsaJwk(2048, { alg: 'RS256' }),
      { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
      { kty: 'RSA', kid: 'broken', n: 'AAAA', e: 'AQAB' },
      ec,
      p384,
      'not a key',
    ],
  };
  const keys = keysFromJwks(set, ['RS256', 'PS256']);
  assert.deepEqual(
    keys.map((key) => `${key.kid}/${key.alg}`),
    ['good/RS256', 'entra/RS256', 'entra/PS256', 'leaky/RS256'],
  );
  assert.ok(keys.every((key) => key.key.type === 'public'));
  assert.deepEqual(
    keysFromJwks(set, ['ES256']).map((key) => key.kid),
    ['ec1'],
  );
  assert.throws(() => keysFromJwks({ keys: 'x' }, ['RS256']), JwksFormatError);
  assert.throws(() => keysFromJwks([], ['RS256']), JwksFormatError);
  assert.throws(() => keysFromJwks({ keys: Array.from({ length: 101 }, () => ({})) }, ['RS256']), JwksFormatError);
});

const [entra] = parseIssuersFile(
  {
    issuers: [
      {
        issuer: 'https://login.microsoftonline.com/tenant/v2.0',
        jwks_uri: 'https://login.microsoftonline.com/tenant/discovery/v2.0/keys',
        audience: 'api://caduceus',
        role_claim: 'roles',
        roles: { 'Caduceus.Nurse': 'nurse', 'Caduceus.Admin': 'admin' },
        scope_claim: 'scp',
        client_id_claim: 'azp',
        token_id_claim: 'uti',
      },
    ],
  },
  '/',
);

test('Entra-shaped claims map: roles array, scp, azp and uti become role, scope, client_id and jti', () => {
  assert.ok(entra !== undefined);
  const mapped = mapExternalClaims(
    { sub: 'u1', roles: ['Caduceus.Nurse', 'Other'], scp: 'user/Patient.rs', azp: 'app-1', uti: 'abc', role: 'admin' },
    entra,
  );
  assert.equal(mapped.role, 'nurse', 'a `role` claim sent by the IdP is replaced, never trusted');
  assert.equal(mapped.scope, 'user/Patient.rs');
  assert.equal(mapped.client_id, 'app-1');
  assert.equal(mapped.jti, 'abc');
  assert.equal(mapExternalClaims({ roles: 'Caduceus.Admin', scp: ['a', 'b'] }, entra).scope, 'a b');
  const refusal = (claims: Record<string, unknown>, reason: string): void => {
    assert.throws(
      () => mapExternalClaims(claims, entra),
      (error: unknown) => error instanceof TokenError && error.reason === reason,
    );
  };
  refusal({ roles: [] }, 'unknown_role');
  refusal({ roles: ['Caduceus.Nurse', 'Caduceus.Admin'] }, 'unknown_role');
  refusal({ roles: ['__proto__', 'constructor', 'toString'] }, 'unknown_role');
  refusal({ roles: { 'Caduceus.Admin': true } }, 'unknown_role');
  refusal({ roles: ['Caduceus.Nurse'], scp: 42 }, 'bad_claim');
  refusal({ roles: ['Caduceus.Nurse'], scp: ['two words'] }, 'bad_claim');
});
