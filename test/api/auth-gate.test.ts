/**
 * The authentication gate over HTTP (DESIGN.md request path step 3, RFC 6750
 * §3, RFC 9068, RFC 8725): a missing credential gets a bare Bearer challenge,
 * every refused token 401 with `error="invalid_token"` and never an echo of
 * it; a revocation takes effect on the very next request, cached token or
 * not; a route without an access rule is unreachable even to an admin.
 */
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { base64url, decodeJwt } from 'jose';
import { issueAccessToken, type AccessTokenClaims } from '../../src/auth/issue-token.js';
import { errorCatalogue } from '../../src/errors/index.js';
import { build, type TestApp } from '../helpers/app.js';
import { craftToken, keyringSigner, strangerSigner } from '../auth/token-fixtures.js';

type Reply = LightMyRequestResponse;

const base = '/api/v1/patients';

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Exactly the 401 envelope under the response's request id, with the given challenge. */
function assert401(res: Reply, challenge: string, what: string): void {
  assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
  assert.equal(res.headers['www-authenticate'], challenge, what);
  const requestId = String(res.headers['x-request-id']);
  assert.match(requestId, /^[0-9a-f]{32}$/);
  const body = res.json<{ error: { code: string; message: string; requestId: string } }>();
  assert.deepEqual(Object.keys(body.error), ['code', 'message', 'requestId'], what);
  assert.equal(body.error.code, 'AUTH_ERROR', what);
  assert.equal(body.error.requestId, requestId, what);
  assert.equal(typeof body.error.message, 'string');
}

/** The response names no segment of the token, in its body or any header. */
function assertNoEcho(res: Reply, token: string, what: string): void {
  const everything = `${res.body}\n${JSON.stringify(res.headers)}`;
  for (const segment of token.split('.').filter((part) => part.length >= 8)) {
    assert.ok(!everything.includes(segment), `${what}: the response echoes the token`);
  }
}

async function claimsOf(h: TestApp, overrides: Partial<AccessTokenClaims> = {}, now?: number): Promise<string> {
  const issued = await issueAccessToken(
    h.keys,
    {
      issuer: h.config.auth.issuer,
      audience: h.config.auth.audience,
      subject: 'gate-user',
      clientId: 'gate-client',
      role: 'admin',
      scopes: ['user/*.cruds'],
      ttlSeconds: 600,
      ...overrides,
    },
    now,
  );
  return issued.token;
}

/** Good claims as issueAccessToken would write them, for hand-crafted tokens. */
function goodClaims(h: TestApp): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: h.config.auth.issuer,
    aud: h.config.auth.audience,
    sub: 'gate-user',
    client_id: 'gate-client',
    jti: `jti-${String(Math.random()).slice(2)}`,
    iat,
    exp: iat + 600,
    role: 'admin',
    scope: 'user/*.cruds',
  };
}

async function keyringToken(
  h: TestApp,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, alg } = await h.keys.currentKey('token-signing');
  return craftToken({ alg, kid, typ: 'at+jwt', ...header }, claims, keyringSigner(h.keys));
}

async function search(h: TestApp, headers: Record<string, string>): Promise<Reply> {
  return h.app.inject({ method: 'GET', url: base, headers });
}

test('a request without credentials gets 401 with a bare Bearer challenge (RFC 6750 §3.1)', async (t) => {
  const h = await build(t);
  for (const [what, headers] of [
    ['no Authorization', {}],
    ['Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['Basic x', { authorization: 'Basic x' }],
    ['Bearer without a token', { authorization: 'Bearer' }],
    ['Bearer and a space', { authorization: 'Bearer ' }],
    ['two credentials', { authorization: 'Bearer abc def' }],
    ['token with a forbidden character', { authorization: 'Bearer abc,def' }],
  ] as const) {
    const res = await search(h, headers);
    assert401(res, 'Bearer', what);
    assert.equal(res.json<{ error: { message: string } }>().error.message, 'A bearer access token is required');
    // Non-hex fragments only: the random request id may contain any run of hex letters like "def".
    for (const echoed of ['dXNlcjpwYXNz', 'abc def', 'abc,def', 'Basic'])
      assert.ok(!res.body.includes(echoed), `${what} echoed ${echoed}`);
  }
});

test('every token that fails verification answers 401 invalid_token and never echoes the token', async (t) => {
  const h = await build(t);
  const { kid, alg } = await h.keys.currentKey('token-signing');
  const claims = goodClaims(h);
  const [publicKey] = await h.keys.publicKeys('token-signing');
  assert.ok(publicKey !== undefined);
  const publicBytes = [
    publicKey.key.export({ type: 'spki', format: 'pem' }),
    publicKey.key.export({ type: 'spki', format: 'der' }),
  ];
  const hmacWith = (secret: string | Buffer) => (input: Uint8Array) =>
    createHmac('sha256', secret).update(input).digest();
  const without = (name: string) => Object.fromEntries(Object.entries(claims).filter(([key]) => key !== name));
  const now = Date.now();

  const refused: [string, string][] = [
    ['two segments', 'Zq9garbage.Zq9garbage'],
    ['a.b', 'a.b'],
    ['garbage', 'Zq9garbagegarbagegarbage'],
    ['three garbage segments', 'Zq9garbage.Zq9garbage.Zq9garbage'],
    ['expired', await claimsOf(h, { ttlSeconds: 60 }, now - 2 * 3600 * 1000)],
    ['issued in the future', await claimsOf(h, {}, now + 3600 * 1000)],
    ['wrong audience', await claimsOf(h, { audience: 'https://elsewhere.example/api/v1' })],
    ['wrong issuer', await claimsOf(h, { issuer: 'https://evil.example' })],
    ['typ JWT', await keyringToken(h, claims, { typ: 'JWT' })],
    ['no typ', await keyringToken(h, claims, { typ: undefined })],
    [
      'alg none, empty signature',
      `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${base64url.encode(JSON.stringify(claims))}.`,
    ],
    [
      'alg none, junk signature',
      await craftToken({ alg: 'none', typ: 'at+jwt', kid }, claims, () => new Uint8Array([1, 2, 3])),
    ],
    [
      'HS256 with the public key PEM',
      await craftToken({ alg: 'HS256', typ: 'at+jwt', kid }, claims, hmacWith(String(publicBytes[0]))),
    ],
    [
      'HS256 with the public key DER',
      await craftToken({ alg: 'HS256', typ: 'at+jwt', kid }, claims, hmacWith(publicBytes[1] as Buffer)),
    ],
    ['another key, same kid', await craftToken({ alg, kid, typ: 'at+jwt' }, claims, strangerSigner().signer)],
    ['unknown kid', await keyringToken(h, claims, { kid: 'no-such-kid' })],
    ['embedded jwk', await keyringToken(h, claims, { jwk: strangerSigner().publicKey.export({ format: 'jwk' }) })],
    [
      'signature of other claims',
      `${(await keyringToken(h, { ...claims, role: 'patient' })).split('.').slice(0, 2).join('.')}.${(await keyringToken(h, claims)).split('.')[2] ?? ''}`,
    ],
    ['missing sub', await keyringToken(h, without('sub'))],
    ['missing client_id', await keyringToken(h, without('client_id'))],
    ['missing jti', await keyringToken(h, without('jti'))],
    ['missing iat', await keyringToken(h, without('iat'))],
    ['missing exp', await keyringToken(h, without('exp'))],
    ['missing aud', await keyringToken(h, without('aud'))],
    ['unknown role', await keyringToken(h, { ...claims, role: 'superuser' })],
  ];
  // The control: the same claims, properly signed, pass.
  assert.equal((await search(h, auth(await keyringToken(h, claims)))).statusCode, 200);
  for (const [what, token] of refused) {
    const res = await search(h, auth(token));
    assert401(res, 'Bearer error="invalid_token"', what);
    assertNoEcho(res, token, what);
    assert.notEqual(
      res.json<{ error: { message: string } }>().error.message,
      'A bearer access token is required',
      what,
    );
  }
});

test('an oversize token is refused with 401 before anything is decoded', async (t) => {
  const h = await build(t);
  const token = `${'A'.repeat(9000)}.${'B'.repeat(10)}.${'C'.repeat(10)}`;
  const res = await search(h, auth(token));
  assert401(res, 'Bearer error="invalid_token"', 'oversize');
  assert.ok(!res.body.includes('AAAAAAAA'));
});

test('revoking the token id refuses it on the very next request', async (t) => {
  const h = await build(t);
  const token = await h.token('admin');
  const { jti, exp } = decodeJwt(token);
  assert.ok(typeof jti === 'string' && typeof exp === 'number');
  const other = await h.token('admin');
  assert.equal((await search(h, auth(token))).statusCode, 200);
  assert.equal((await search(h, auth(token))).statusCode, 200); // now in the verifier's cache
  await h.revocation.revokeToken(jti, exp);
  const res = await search(h, auth(token));
  assert401(res, 'Bearer error="invalid_token"', 'revoked jti');
  assert.equal(res.json<{ error: { message: string } }>().error.message, 'The access token has been revoked');
  assertNoEcho(res, token, 'revoked jti');
  assert.equal((await search(h, auth(other))).statusCode, 200, 'another token of the same subject still works');
});

test('revoking the grant refuses every token of it on the next request, and only those', async (t) => {
  const h = await build(t);
  const first = await claimsOf(h, { grantId: 'grant-1' });
  const second = await claimsOf(h, { grantId: 'grant-1' });
  const unrelated = await claimsOf(h, { grantId: 'grant-2' });
  for (const token of [first, second, unrelated]) assert.equal((await search(h, auth(token))).statusCode, 200);
  await h.revocation.revokeGrant('grant-1');
  assert401(await search(h, auth(first)), 'Bearer error="invalid_token"', 'revoked grant, first');
  assert401(await search(h, auth(second)), 'Bearer error="invalid_token"', 'revoked grant, second');
  assert.equal((await search(h, auth(unrelated))).statusCode, 200);
});

test('revoking the subject refuses its tokens issued until now on the next request, and no one else', async (t) => {
  const h = await build(t);
  const token = await h.token('clinician', { sub: 'user-to-revoke' });
  const bystander = await h.token('clinician', { sub: 'user-bystander' });
  assert.equal((await search(h, auth(token))).statusCode, 200);
  await h.revocation.revokeSubject('user-to-revoke');
  assert401(await search(h, auth(token)), 'Bearer error="invalid_token"', 'revoked subject');
  const create = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth(token),
    payload: { resourceType: 'Patient', gender: 'male' },
  });
  assert401(create, 'Bearer error="invalid_token"', 'revoked subject, write');
  assert.equal((await search(h, auth(bystander))).statusCode, 200);
  // A token issued after the revocation instant (the next second on) is unaffected.
  const later = await claimsOf(h, { subject: 'user-to-revoke' }, (Math.floor(Date.now() / 1000) + 1) * 1000);
  assert.equal((await search(h, auth(later))).statusCode, 200);
});

test('deny by default: a route without an access rule answers 403 to an admin, 401 without a token', async (t) => {
  const h = await build(t);
  let reached = 0;
  h.app.get('/api/v1/unruled', () => {
    reached += 1;
    return { reached: true };
  });
  h.app.post('/api/v1/unruled', () => {
    reached += 1;
    return { reached: true };
  });
  // A rule naming a resource type no role has a grant on is as closed.
  h.app.get(
    '/api/v1/unknown-type',
    { config: { access: { resourceType: 'Practitioner', interaction: 'read' } } },
    () => {
      reached += 1;
      return { reached: true };
    },
  );
  for (const role of ['admin', 'clinician', 'auditor'] as const) {
    const token = await h.token(role);
    for (const [method, url] of [
      ['GET', '/api/v1/unruled'],
      ['POST', '/api/v1/unruled'],
      ['GET', '/api/v1/unknown-type'],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: auth(token), ...(method === 'POST' && { payload: {} }) });
      assert.equal(res.statusCode, 403, `${role} ${method} ${url}: ${res.body}`);
      assert.deepEqual(res.json(), {
        error: {
          code: 'FORBIDDEN',
          message: errorCatalogue.FORBIDDEN.message,
          requestId: String(res.headers['x-request-id']),
        },
      });
    }
  }
  assert401(await h.app.inject({ method: 'GET', url: '/api/v1/unruled' }), 'Bearer', 'unruled, no token');
  assert.equal(reached, 0, 'no handler without an access rule ever ran');
});
