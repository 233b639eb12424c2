/**
 * private_key_jwt with a registered jwks_uri: the provider fetches the
 * client's keys over https through the SSRF guard (src/auth/oidc/jwks-fetch.ts),
 * here from a local server with its own CA. A loopback jwks_uri works only
 * when CADUCEUS_JWKS_FETCH_ALLOW lists the address; http is never fetched.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { generate } from 'selfsigned';
import { clientJwksFetch, createClient, ClientRegistrationError } from '../../../src/auth/oidc/index.js';
import { parseCidrList } from '../../../src/lib/cidr.js';
import { buildOAuthApp, type OAuthTestApp } from './harness.js';
import { postForm } from './fixtures.js';

interface JwksServer {
  readonly port: number;
  readonly ca: string;
  readonly jwks: string;
  readonly privateKey: CryptoKey;
  fetched: number;
}

/** An https server on 127.0.0.1 serving one ES384 key, its certificate for `localhost`. */
async function startJwksServer(t: TestContext): Promise<JwksServer> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'remote', alg: 'ES384', use: 'sig' }] });
  const state = { port: 0, ca: pems.cert, jwks, privateKey, fetched: 0 };
  const server = createServer({ key: pems.private, cert: pems.cert }, (_req, res) => {
    state.fetched += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** Registers a device client with the jwks_uri and asks for a token signed by `key`. */
async function tokenStatus(
  oauth: OAuthTestApp,
  jwksUri: string,
  key: CryptoKey,
): Promise<{ status: number; body: string }> {
  const { clientId } = await oauth.registerClient({
    name: 'Lab system',
    role: 'device',
    authMethod: 'private_key_jwt',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scope: 'system/Observation.c',
    jwksUri,
  });
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES384', kid: 'remote' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(oauth.config.auth.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(key);
  const response = await postForm(oauth, '/token', {
    grant_type: 'client_credentials',
    scope: 'system/Observation.c',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
  return { status: response.statusCode, body: response.body };
}

test("a loopback jwks_uri is fetched when CADUCEUS_JWKS_FETCH_ALLOW lists it, and only the client's key is accepted", async (t) => {
  const jwks = await startJwksServer(t);
  const oauth = await buildOAuthApp(t, { env: { CADUCEUS_JWKS_FETCH_ALLOW: '127.0.0.1,::1' }, jwksCa: jwks.ca });
  const ok = await tokenStatus(oauth, `https://localhost:${jwks.port}/jwks.json`, jwks.privateKey);
  assert.equal(ok.status, 200, ok.body);
  assert.ok(jwks.fetched >= 1);
  const stranger = await generateKeyPair('ES384');
  assert.equal((await tokenStatus(oauth, `https://localhost:${jwks.port}/jwks.json`, stranger.privateKey)).status, 401);
});

test('a loopback jwks_uri is refused without the allow-list: never fetched, invalid_client without the URL', async (t) => {
  const jwks = await startJwksServer(t);
  const oauth = await buildOAuthApp(t, { jwksCa: jwks.ca });
  const refused = await tokenStatus(oauth, `https://localhost:${jwks.port}/jwks.json`, jwks.privateKey);
  assert.equal(refused.status, 401);
  assert.equal((JSON.parse(refused.body) as { error: string }).error, 'invalid_client');
  assert.ok(!refused.body.includes(String(jwks.port)), 'the answer names no URL');
  assert.equal(jwks.fetched, 0);
});

test('an allow-list for other addresses does not admit loopback', async (t) => {
  const jwks = await startJwksServer(t);
  const oauth = await buildOAuthApp(t, { env: { CADUCEUS_JWKS_FETCH_ALLOW: '10.0.0.0/8' }, jwksCa: jwks.ca });
  assert.equal((await tokenStatus(oauth, `https://127.0.0.1:${jwks.port}/jwks.json`, jwks.privateKey)).status, 401);
  assert.equal(jwks.fetched, 0);
});

test('http jwks_uri: refused at registration, and the guarded fetch refuses it even when the address is allow-listed', async (t) => {
  const jwks = await startJwksServer(t);
  let plainFetched = 0;
  const plain = createHttpServer((_req, res) => {
    plainFetched += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks.jwks);
  });
  await new Promise<void>((resolve) => {
    plain.listen(0, '127.0.0.1', resolve);
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        plain.close(() => {
          resolve();
        });
      }),
  );
  const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/jwks.json`;
  const oauth = await buildOAuthApp(t, { env: { CADUCEUS_JWKS_FETCH_ALLOW: '127.0.0.1' } });
  await assert.rejects(
    createClient(oauth.db.clients, {
      name: 'Lab system',
      role: 'device',
      authMethod: 'private_key_jwt',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scope: 'system/Observation.c',
      jwksUri: url,
    }),
    ClientRegistrationError,
  );
  const fetch = clientJwksFetch({ allow: parseCidrList('127.0.0.1') ?? [] });
  await assert.rejects(fetch(url), /only https/);
  assert.equal(plainFetched, 0);
  // The same guard fetches the https server on the allow-listed address.
  const ok = await clientJwksFetch({ allow: parseCidrList('127.0.0.1,::1') ?? [], ca: jwks.ca })(
    `https://localhost:${jwks.port}/jwks.json`,
  );
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), JSON.parse(jwks.jwks));
});

test('CADUCEUS_JWKS_FETCH_ALLOW must be addresses or CIDR blocks', async (t) => {
  await assert.rejects(
    buildOAuthApp(t, { env: { CADUCEUS_JWKS_FETCH_ALLOW: 'localhost' } }),
    /CADUCEUS_JWKS_FETCH_ALLOW/,
  );
});
