import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { issueAccessToken, type AccessTokenClaims } from '../../src/auth/issue-token.js';
import { signJwt } from '../../src/auth/jwt-sign.js';
import type { KeyManager } from '../../src/keys/ports.js';
import { audience, issuer, openTokenWorld, start } from './token-fixtures.js';

const claims: AccessTokenClaims = {
  issuer,
  audience,
  subject: 'operator-1',
  clientId: 'caduceus-cli',
  role: 'admin',
  scopes: ['system/*.rs', 'system/Patient.cruds'],
  ttlSeconds: 900,
};

test('issues an RFC 9068 access token that jose and our verifier accept', async (t) => {
  const world = await openTokenWorld(t);
  const issued = await issueAccessToken(world.keys, { ...claims, patient: 'p-1', grantId: 'g-1', amr: ['pwd'] }, start);
  const iat = Math.floor(start / 1000);
  assert.equal(issued.expiresAt, iat + 900);
  assert.match(issued.jti, /^[A-Za-z0-9_-]{22}$/);

  const current = await world.keys.currentKey('token-signing');
  assert.deepEqual(decodeProtectedHeader(issued.token), { typ: 'at+jwt', alg: 'ES256', kid: current.kid });
  const [key] = await world.keys.publicKeys('token-signing');
  const { payload } = await jwtVerify(issued.token, key!.key, {
    issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256'],
    currentDate: new Date(start),
  });
  assert.deepEqual(payload, {
    iss: issuer,
    sub: 'operator-1',
    aud: audience,
    exp: iat + 900,
    iat,
    jti: issued.jti,
    client_id: 'caduceus-cli',
    scope: 'system/*.rs system/Patient.cruds',
    role: 'admin',
    patient: 'p-1',
    grant_id: 'g-1',
    amr: ['pwd'],
  });

  const principal = await world.verifier.verify(issued.token);
  assert.equal(principal.tokenId, issued.jti);
  assert.equal(principal.expiresAt, issued.expiresAt);
  assert.deepEqual(principal.scopes, claims.scopes);
  await world.revocation.revokeToken(issued.jti, issued.expiresAt);
  await assert.rejects(world.verifier.verify(issued.token), { code: 'AUTH_ERROR', reason: 'revoked' });
});

test('every token gets a fresh jti, and optional claims are left out when not given', async (t) => {
  const world = await openTokenWorld(t);
  const [a, b] = await Promise.all([
    issueAccessToken(world.keys, claims, start),
    issueAccessToken(world.keys, claims, start),
  ]);
  assert.notEqual(a.jti, b.jti);
  const principal = await world.verifier.verify(a.token);
  assert.deepEqual([principal.patient, principal.grantId, principal.amr], [null, null, []]);
});

test('refuses a lifetime outside 1..3600 seconds and malformed claims', async (t) => {
  const world = await openTokenWorld(t);
  for (const ttlSeconds of [0, -1, 3601, 86_400, 1.5, Number.NaN]) {
    await assert.rejects(issueAccessToken(world.keys, { ...claims, ttlSeconds }, start), RangeError);
  }
  for (const ttlSeconds of [1, 3600]) {
    const issued = await issueAccessToken(world.keys, { ...claims, ttlSeconds }, start);
    assert.equal(issued.expiresAt, Math.floor(start / 1000) + ttlSeconds);
  }
  await assert.rejects(issueAccessToken(world.keys, { ...claims, scopes: ['two words'] }, start), RangeError);
  await assert.rejects(issueAccessToken(world.keys, { ...claims, scopes: ['quo"te'] }, start), RangeError);
  await assert.rejects(
    issueAccessToken(world.keys, { ...claims, role: 'root' as AccessTokenClaims['role'] }, start),
    RangeError,
  );
  await assert.rejects(issueAccessToken(world.keys, { ...claims, subject: '' }, start), RangeError);
  await assert.rejects(issueAccessToken(world.keys, { ...claims, patient: '' }, start), RangeError);
});

test('signJwt takes alg and kid from the key manager, never from the caller', async (t) => {
  const world = await openTokenWorld(t);
  const header = { typ: 'at+jwt', alg: 'none', kid: 'forged', cty: 'x' } as { typ: string };
  const token = await signJwt(world.keys, 'audit-signing', header, { hello: 'world' });
  const audit = await world.keys.currentKey('audit-signing');
  assert.deepEqual(decodeProtectedHeader(token), { typ: 'at+jwt', alg: 'ES256', kid: audit.kid, cty: 'x' });
  const [key] = await world.keys.publicKeys('audit-signing');
  const { payload } = await jwtVerify(token, key!.key, { algorithms: ['ES256'] });
  assert.equal(payload.hello, 'world');
});

test('signJwt retries when the key rotates between choosing the kid and signing', async (t) => {
  const world = await openTokenWorld(t);
  let rotatedTo: string | undefined;
  const racing: KeyManager = {
    currentKey: (purpose) => world.keys.currentKey(purpose),
    publicKeys: (purpose) => world.keys.publicKeys(purpose),
    close: () => world.keys.close(),
    async sign(purpose, data) {
      rotatedTo ??= (await world.keys.rotate(purpose)).kid;
      return world.keys.sign(purpose, data);
    },
  };
  const token = await signJwt(racing, 'token-signing', { typ: 'at+jwt' }, { sub: 'x' });
  assert.equal(decodeProtectedHeader(token).kid, rotatedTo);
  const key = (await world.keys.publicKeys('token-signing')).find((candidate) => candidate.kid === rotatedTo);
  await jwtVerify(token, key!.key, { algorithms: ['ES256'] });
});
