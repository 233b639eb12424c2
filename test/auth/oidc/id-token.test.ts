/**
 * The ID token states how the user authenticated (`acr`, `amr`, `auth_time`;
 * OpenID Connect Core §2), as the access token does, whether or not the
 * client asked for them, and keeps them when the tokens are refreshed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';
import { acrValues } from '../../../src/auth/oidc/index.js';
import { buildOAuthApp } from './harness.js';
import { TestBrowser } from './http.js';
import { addClinician, codeClient, decodeJwt, redirectUri, userScope } from './fixtures.js';

/** Code + PKCE through the browser, signing in with the given factors. */
async function signIn(
  oauth: Awaited<ReturnType<typeof buildOAuthApp>>,
  config: client.Configuration,
  login: { amr: string; acr: string },
) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: userScope,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await new TestBrowser(oauth.app).authorize(url, { accountId: 'user-1', ...login });
  return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

test('the ID token carries acr and amr of an MFA sign-in, the same as the access token, and keeps them on refresh', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const before = Math.floor(Date.now() / 1000);
  const tokens = await signIn(oauth, config, { amr: 'pwd,otp', acr: acrValues.mfa });
  // openid-client has verified the ID token's signature, iss, aud and nonce-less code flow.
  const claims = tokens.claims();
  assert.ok(claims !== undefined);
  assert.equal(claims.acr, acrValues.mfa);
  assert.deepEqual(claims.amr, ['pwd', 'otp']);
  assert.ok(typeof claims.auth_time === 'number' && claims.auth_time >= before - 1);
  const access = decodeJwt(tokens.access_token).payload;
  assert.equal(claims.acr, access.acr);
  assert.deepEqual(claims.amr, access.amr);
  assert.ok(tokens.refresh_token !== undefined);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const again = refreshed.claims();
  assert.ok(again !== undefined);
  assert.equal(again.acr, acrValues.mfa);
  assert.deepEqual(again.amr, ['pwd', 'otp']);
});

test('a password-only sign-in gets the password acr in its ID token, never the MFA one', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const tokens = await signIn(oauth, config, { amr: 'pwd', acr: acrValues.password });
  const claims = tokens.claims();
  assert.ok(claims !== undefined);
  assert.equal(claims.acr, acrValues.password);
  assert.deepEqual(claims.amr, ['pwd']);
});

test('discovery lists acr and amr among the supported claims', async (t) => {
  const oauth = await buildOAuthApp(t);
  const response = await oauth.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  const metadata = response.json<{ claims_supported: string[]; acr_values_supported: string[] }>();
  assert.ok(metadata.claims_supported.includes('acr'));
  assert.ok(metadata.claims_supported.includes('amr'));
  assert.deepEqual([...metadata.acr_values_supported].sort(), [acrValues.mfa, acrValues.password].sort());
});
