import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import * as client from 'openid-client';
import { buildOAuthApp, type OAuthTestApp } from './harness.js';
import { discover } from './http.js';
import { apiStatus, basic, decodeJwt, postForm } from './fixtures.js';

async function backendClient(oauth: OAuthTestApp, alg: 'ES384' | 'RS384') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg };
  const { clientId } = await oauth.registerClient({
    name: `Device ${alg}`,
    role: 'device',
    authMethod: 'private_key_jwt',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scope: 'system/Observation.c',
    jwks: { keys: [jwk] },
  });
  return { clientId, privateKey, kid: jwk.kid };
}

function assertion(
  oauth: OAuthTestApp,
  clientId: string,
  key: CryptoKey,
  kid: string,
  alg: string,
  options: { jti?: string; expiresIn?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: options.jti ?? randomUUID() })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(oauth.config.auth.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 60))
    .sign(key);
}

function tokenRequest(oauth: OAuthTestApp, signed: string) {
  return postForm(oauth, '/token', {
    grant_type: 'client_credentials',
    scope: 'system/Observation.c',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: signed,
  });
}

for (const alg of ['ES384', 'RS384'] as const) {
  test(`client_credentials with private_key_jwt (${alg}) through openid-client: a device token the gate accepts`, async (t) => {
    const oauth = await buildOAuthApp(t);
    const { clientId, privateKey, kid } = await backendClient(oauth, alg);
    const config = await discover(
      oauth.app,
      oauth.config.auth.issuer,
      clientId,
      client.PrivateKeyJwt({ key: privateKey, kid }),
    );
    const tokens = await client.clientCredentialsGrant(config, { scope: 'system/Observation.c' });
    assert.equal(tokens.refresh_token, undefined);
    const { header, payload } = decodeJwt(tokens.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.sub, clientId);
    assert.equal(payload.client_id, clientId);
    assert.equal(payload.role, 'device');
    assert.equal(payload.scope, 'system/Observation.c');
    // The gate accepts it (a device may not read patients: 403, not 401).
    assert.equal(await apiStatus(oauth, tokens.access_token), 403);
    assert.ok(
      oauth.auditEvents.some(
        (event) =>
          event.action.details?.outcome === 'token_issued' && event.action.details.grantType === 'client_credentials',
      ),
    );
  });
}

test('a replayed client assertion is refused (jti seen), and the replay is audited', async (t) => {
  const oauth = await buildOAuthApp(t);
  const { clientId, privateKey, kid } = await backendClient(oauth, 'ES384');
  const signed = await assertion(oauth, clientId, privateKey, kid, 'ES384');
  const first = await tokenRequest(oauth, signed);
  assert.equal(first.statusCode, 200, first.body);
  const replay = await tokenRequest(oauth, signed);
  assert.equal(replay.statusCode, 401);
  assert.equal(replay.json<Record<string, unknown>>().error, 'invalid_client');
  // The same jti in a fresh assertion is a replay too.
  const jti = randomUUID();
  assert.equal(
    (await tokenRequest(oauth, await assertion(oauth, clientId, privateKey, kid, 'ES384', { jti }))).statusCode,
    200,
  );
  assert.equal(
    (await tokenRequest(oauth, await assertion(oauth, clientId, privateKey, kid, 'ES384', { jti }))).statusCode,
    401,
  );
  assert.ok(oauth.auditEvents.some((event) => event.action.details?.outcome === 'client_auth_failed'));
});

test('a client assertion valid for more than five minutes is refused', async (t) => {
  const oauth = await buildOAuthApp(t);
  const { clientId, privateKey, kid } = await backendClient(oauth, 'ES384');
  const far = await tokenRequest(oauth, await assertion(oauth, clientId, privateKey, kid, 'ES384', { expiresIn: 600 }));
  assert.equal(far.statusCode, 401);
  assert.equal(far.json<Record<string, unknown>>().error, 'invalid_client');
  assert.equal(
    (await tokenRequest(oauth, await assertion(oauth, clientId, privateKey, kid, 'ES384', { expiresIn: 290 })))
      .statusCode,
    200,
  );
});

test('an assertion signed with another key or algorithm is refused', async (t) => {
  const oauth = await buildOAuthApp(t);
  const { clientId, kid } = await backendClient(oauth, 'ES384');
  const stranger = await generateKeyPair('ES384');
  assert.equal(
    (await tokenRequest(oauth, await assertion(oauth, clientId, stranger.privateKey, kid, 'ES384'))).statusCode,
    401,
  );
  const es256 = await generateKeyPair('ES256');
  assert.equal(
    (await tokenRequest(oauth, await assertion(oauth, clientId, es256.privateKey, kid, 'ES256'))).statusCode,
    401,
  );
});

test('client_credentials with client_secret_basic; a wrong secret and a disabled client are refused', async (t) => {
  const oauth = await buildOAuthApp(t);
  const { clientId, secret } = await oauth.registerClient({
    name: 'Billing export',
    role: 'billing',
    authMethod: 'client_secret_basic',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scope: 'system/Patient.rs',
  });
  assert.ok(secret !== null);
  // Stored as a hash only: the secret appears nowhere in the client table.
  const stored = await oauth.db.clients.get(clientId);
  assert.ok(stored !== undefined && !JSON.stringify(stored).includes(secret));
  const ok = await postForm(
    oauth,
    '/token',
    { grant_type: 'client_credentials', scope: 'system/Patient.rs' },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(ok.statusCode, 200);
  assert.equal(decodeJwt(ok.json<{ access_token: string }>().access_token).payload.role, 'billing');
  const wrong = await postForm(
    oauth,
    '/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(clientId, `${secret}x`) },
  );
  assert.equal(wrong.statusCode, 401);
  assert.equal(await oauth.db.clients.setStatus(clientId, 'disabled', new Date().toISOString()), true);
  const disabled = await postForm(
    oauth,
    '/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(disabled.statusCode, 401);
  assert.equal(disabled.json<Record<string, unknown>>().error, 'invalid_client');
});

test('after a token-signing key rotation new tokens use the new key; older ones still verify and stay in the JWKS', async (t) => {
  const oauth = await buildOAuthApp(t);
  const { clientId, secret } = await oauth.registerClient({
    name: 'Export',
    role: 'billing',
    authMethod: 'client_secret_basic',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scope: 'system/Patient.rs',
  });
  const issue = async () => {
    const response = await postForm(
      oauth,
      '/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, secret ?? '') },
    );
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ access_token: string }>().access_token;
  };
  const before = await issue();
  const { kid } = await oauth.keys.rotate('token-signing');
  const after = await issue();
  assert.equal(decodeJwt(after).header.kid, kid);
  assert.notEqual(decodeJwt(before).header.kid, kid);
  assert.notEqual(await apiStatus(oauth, before), 401);
  assert.notEqual(await apiStatus(oauth, after), 401);
  const jwks = (await oauth.app.inject({ method: 'GET', url: '/jwks' })).json<{
    keys: { kid: string; d?: string }[];
  }>();
  assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [decodeJwt(before).header.kid, kid].sort());
  assert.ok(jwks.keys.every((key) => key.d === undefined));
});

test('when the audit event cannot be written the token endpoint fails closed (503), no token leaves', async (t) => {
  let failing = false;
  const oauth = await buildOAuthApp(t, { auditFails: () => failing });
  const { clientId, secret } = await oauth.registerClient({
    name: 'Export',
    role: 'billing',
    authMethod: 'client_secret_basic',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scope: 'system/Patient.rs',
  });
  failing = true;
  const refused = await postForm(
    oauth,
    '/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(clientId, secret ?? '') },
  );
  assert.equal(refused.statusCode, 503);
  assert.deepEqual(refused.json(), { error: 'temporarily_unavailable' });
  assert.equal(refused.body.includes('access_token'), false);
  assert.equal(refused.headers['x-frame-options'], 'DENY');
  failing = false;
  assert.equal(
    (
      await postForm(
        oauth,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(clientId, secret ?? '') },
      )
    ).statusCode,
    200,
  );
});
