import assert from 'node:assert/strict';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import * as client from 'openid-client';
import { createTokenVerifier } from '../../../src/auth/verify-token.js';
import { localIssuerProfile } from '../../../src/auth/issuer-profile.js';
import { buildOAuthApp } from './harness.js';
import { TestBrowser } from './http.js';
import {
  addClinician,
  apiStatus,
  authorize,
  basic,
  codeClient,
  decodeJwt,
  login,
  postForm,
  redirectUri,
} from './fixtures.js';

test('code + PKCE with openid-client: an RFC 9068 access token the API accepts', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config, clientId } = await codeClient(oauth);
  const tokens = await login(oauth, config);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.refresh_token !== undefined);
  assert.ok(tokens.expires_in !== undefined && tokens.expires_in <= 900);
  const { header, payload } = decodeJwt(tokens.access_token);
  assert.equal(header.typ, 'at+jwt');
  assert.equal(header.alg, 'ES256');
  assert.equal(payload.client_id, clientId);
  assert.equal(payload.sub, 'user-1');
  assert.equal(payload.role, 'clinician');
  assert.equal(payload.aud, oauth.config.auth.audience);
  assert.equal(payload.iss, oauth.config.auth.issuer);
  assert.deepEqual(payload.amr, ['pwd', 'otp']);
  assert.equal(payload.acr, 'urn:caduceus:acr:mfa');
  assert.equal(typeof payload.grant_id, 'string');
  assert.equal(typeof payload.jti, 'string');
  assert.ok(Number(payload.exp) - Number(payload.iat) <= 900);
  assert.equal(await apiStatus(oauth, tokens.access_token), 200);
  // The signing key is the KeyManager's: the kid is one of its token-signing keys.
  assert.ok((await oauth.keys.publicKeys('token-signing')).some((key) => key.kid === header.kid));
});

test('PKCE is required for a confidential client, and only S256', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const browser = new TestBrowser(oauth.app);
  const base = { redirect_uri: redirectUri, scope: 'openid', state: 's1', response_type: 'code' };
  const missing = client.buildAuthorizationUrl(config, base);
  missing.searchParams.delete('code_challenge');
  const noPkce = await browser.request('GET', missing.toString());
  assert.equal(noPkce.statusCode, 303);
  assert.match(String(noPkce.headers.location), /^https:\/\/app\.example\/callback\?.*error=invalid_request/);
  const plain = await browser.request(
    'GET',
    client
      .buildAuthorizationUrl(config, { ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })
      .toString(),
  );
  assert.match(String(plain.headers.location), /error=invalid_request/);
});

test('a redirect_uri that is not registered gets an error page, never a redirect', async (t) => {
  const oauth = await buildOAuthApp(t);
  const { config } = await codeClient(oauth);
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: 'https://evil.example/callback',
    scope: 'openid',
    state: 's',
    code_challenge: 'x'.repeat(43),
    code_challenge_method: 'S256',
  });
  const response = await new TestBrowser(oauth.app).request('GET', url.toString());
  assert.equal(response.statusCode, 400);
  assert.equal(response.headers.location, undefined);
  assert.match(response.body, /invalid_redirect_uri/);
  assert.doesNotMatch(response.body, /evil\.example/);
  assert.equal(response.headers['content-security-policy'], "default-src 'self'");
});

test('a reused authorization code is refused and revokes the grant: its tokens stop working', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const { callback, verifier, state } = await authorize(oauth, config);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  assert.equal(await apiStatus(oauth, tokens.access_token), 200);
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    (error: client.ResponseBodyError) => error.error === 'invalid_grant',
  );
  assert.equal(await apiStatus(oauth, tokens.access_token), 401);
  await assert.rejects(
    client.refreshTokenGrant(config, tokens.refresh_token ?? ''),
    (error: client.ResponseBodyError) => error.error === 'invalid_grant',
  );
  assert.ok(oauth.auditEvents.some((event) => event.action.details?.outcome === 'code_reuse_detected'));
});

test('a wrong PKCE verifier is refused', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const { callback, state } = await authorize(oauth, config);
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: client.randomPKCECodeVerifier(),
      expectedState: state,
    }),
    (error: client.ResponseBodyError) => error.error === 'invalid_grant',
  );
  const failure = oauth.auditEvents.find((event) => event.action.details?.outcome === 'grant_error');
  assert.ok(failure);
  assert.equal(failure.outcome.code, 'invalid_grant');
  assert.equal(failure.action.details?.grantType, 'authorization_code');
});

test('refresh tokens rotate on every use; replaying a used one revokes the whole grant at once', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const first = await login(oauth, config);
  const second = await client.refreshTokenGrant(config, first.refresh_token ?? '');
  assert.ok(second.refresh_token !== undefined && second.refresh_token !== first.refresh_token);
  assert.equal(decodeJwt(second.access_token).payload.grant_id, decodeJwt(first.access_token).payload.grant_id);
  assert.equal(await apiStatus(oauth, second.access_token), 200);
  // The replay: refused, and every token of the grant ends, the newest ones included.
  await assert.rejects(
    client.refreshTokenGrant(config, first.refresh_token ?? ''),
    (error: client.ResponseBodyError) => error.error === 'invalid_grant',
  );
  assert.equal(await apiStatus(oauth, second.access_token), 401);
  assert.equal(await apiStatus(oauth, first.access_token), 401);
  await assert.rejects(
    client.refreshTokenGrant(config, second.refresh_token),
    (error: client.ResponseBodyError) => error.error === 'invalid_grant',
  );
  const reuse = oauth.auditEvents.find((event) => event.action.details?.outcome === 'refresh_reuse_detected');
  assert.ok(reuse);
  assert.equal(reuse.outcome.code, 'invalid_grant');
  assert.ok(oauth.auditEvents.some((event) => event.action.details?.outcome === 'token_refreshed'));
});

test('revocation (RFC 7009) and introspection (RFC 7662, SMART fields)', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config, clientId } = await codeClient(oauth);
  const tokens = await login(oauth, config);
  const active = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(active.active, true);
  assert.equal(active.client_id, clientId);
  assert.equal(active.sub, 'user-1');
  assert.equal(active.token_type, 'Bearer');
  assert.match(String(active.scope), /user\/\*\.cruds/);
  assert.equal(typeof active.exp, 'number');
  await client.tokenRevocation(config, tokens.access_token);
  assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
  assert.equal(await apiStatus(oauth, tokens.access_token), 401);
  // Revoking the refresh token ends the grant: the next access token minted before it is refused too.
  const again = await login(oauth, config);
  await client.tokenRevocation(config, again.refresh_token ?? '');
  assert.equal(await apiStatus(oauth, again.access_token), 401);
  assert.equal((await client.tokenIntrospection(config, again.refresh_token ?? '')).active, false);
});

test('a tampered or expired token is refused by the gate', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const tokens = await login(oauth, config);
  const [header, payload, signature] = tokens.access_token.split('.');
  const claims = { ...decodeJwt(tokens.access_token).payload, role: 'admin' };
  const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
  assert.equal(await apiStatus(oauth, tampered), 401);
  assert.ok(payload !== undefined);
  const later = createTokenVerifier({
    profiles: [localIssuerProfile(oauth.config.auth.issuer, oauth.keys)],
    audience: oauth.config.auth.audience,
    clockSkewSeconds: oauth.config.auth.clockSkewSeconds,
    revocation: oauth.revocation,
    now: () => Date.now() + 16 * 60_000,
  });
  await assert.rejects(later.verify(tokens.access_token), { reason: 'expired' });
});

test('OAuth endpoints answer RFC 6749 §5.2 errors with our security headers, and audit without secrets', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { clientId, secret } = await codeClient(oauth);
  const wrong = await postForm(
    oauth,
    '/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(clientId, 'not-the-secret') },
  );
  assert.equal(wrong.statusCode, 401);
  const body = wrong.json<Record<string, unknown>>();
  assert.equal(body.error, 'invalid_client');
  assert.equal('code' in body, false);
  assert.equal(wrong.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  assert.equal(wrong.headers['x-frame-options'], 'DENY');
  assert.equal(wrong.headers['cache-control'], 'no-store');
  assert.equal(typeof wrong.headers['x-request-id'], 'string');
  const failed = oauth.auditEvents.find((event) => event.action.details?.outcome === 'client_auth_failed');
  assert.ok(failed);
  assert.equal(failed.category, 'auth');
  assert.equal(failed.requestId, wrong.headers['x-request-id']);
  assert.equal(failed.actor.sourceIp, '127.0.0.1');
  const unsupported = await postForm(
    oauth,
    '/token',
    { grant_type: 'password', username: 'u', password: 'p' },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(unsupported.statusCode, 400);
  assert.equal(unsupported.json<Record<string, unknown>>().error, 'unsupported_grant_type');
  const discovery = await oauth.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  assert.equal(discovery.headers['content-security-policy'], "default-src 'self'");
  const document = discovery.json<Record<string, unknown>>();
  assert.deepEqual(document.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(document.response_types_supported, ['code']);
  assert.equal((document.grant_types_supported as string[]).includes('implicit'), false);
  // Log in fully once, then look for every secret value in every audit event.
  const { config } = await codeClient(oauth);
  const { callback, verifier, state } = await authorize(oauth, config);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  const serialized = JSON.stringify(oauth.auditEvents);
  for (const value of [
    tokens.access_token,
    tokens.refresh_token ?? '',
    callback.searchParams.get('code') ?? '',
    secret,
    verifier,
  ]) {
    assert.ok(value.length > 10);
    assert.equal(serialized.includes(value), false);
  }
  assert.ok(
    oauth.auditEvents.some(
      (event) => event.action.details?.outcome === 'token_issued' && event.actor.subject === 'user-1',
    ),
  );
  assert.ok(
    oauth.auditEvents.some(
      (event) => event.action.interaction === 'oauth.resume' && event.action.details?.outcome === 'code_issued',
    ),
  );
  assert.ok(
    oauth.auditEvents.some(
      (event) =>
        event.action.interaction === 'oauth.authorization' && event.action.details?.outcome === 'interaction_started',
    ),
  );
});

test('SMART App Launch 2 configuration', async (t) => {
  const oauth = await buildOAuthApp(t);
  const response = await oauth.app.inject({ method: 'GET', url: '/api/v1/.well-known/smart-configuration' });
  assert.equal(response.statusCode, 200);
  const document = response.json<Record<string, unknown>>();
  assert.deepEqual(document.code_challenge_methods_supported, ['S256']);
  assert.equal(document.token_endpoint, `${oauth.config.auth.issuer}/token`);
  assert.ok((document.capabilities as string[]).includes('client-confidential-asymmetric'));
  assert.ok((document.token_endpoint_auth_signing_alg_values_supported as string[]).includes('ES384'));
});

test('a patient-linked user gets the patient claim; a disabled user cannot refresh', async (t) => {
  const oauth = await buildOAuthApp(t);
  oauth.accounts.set('pat-1', {
    accountId: 'pat-1',
    role: 'patient',
    patient: 'p-123',
    fhirUser: 'Patient/p-123',
    disabled: false,
  });
  const { config } = await codeClient(oauth);
  const { callback, verifier, state } = await authorize(
    oauth,
    config,
    { scope: 'openid fhirUser offline_access launch/patient patient/*.rs' },
    'pat-1',
  );
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  // SMART launch context beside the token.
  assert.equal(tokens.patient, 'p-123');
  const { payload } = decodeJwt(tokens.access_token);
  assert.equal(payload.scope, 'patient/*.rs');
  assert.equal(payload.patient, 'p-123');
  assert.equal(payload.fhirUser, 'Patient/p-123');
  assert.equal(payload.role, 'patient');
  oauth.accounts.set('pat-1', {
    accountId: 'pat-1',
    role: 'patient',
    patient: 'p-123',
    fhirUser: 'Patient/p-123',
    disabled: true,
  });
  await assert.rejects(
    client.refreshTokenGrant(config, tokens.refresh_token ?? ''),
    (error: client.ResponseBodyError) => error.error === 'invalid_grant',
  );
});

test('codes and refresh tokens are stored only as hashes, never as values', async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const { callback, verifier, state } = await authorize(oauth, config);
  const code = callback.searchParams.get('code') ?? '';
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  const rotated = await client.refreshTokenGrant(config, tokens.refresh_token ?? '');
  const file = new Sqlite(oauth.databaseUrl, { readonly: true });
  t.after(() => {
    file.close();
  });
  const rows = file.prepare('SELECT model, id_hash, payload FROM oidc_state').all() as {
    model: string;
    id_hash: string;
    payload: string;
  }[];
  assert.ok(rows.some((row) => row.model === 'RefreshToken'));
  assert.ok(rows.some((row) => row.model === 'AuthorizationCode'));
  const dump = JSON.stringify(rows);
  for (const secret of [code, tokens.refresh_token ?? '', rotated.refresh_token ?? '']) {
    assert.ok(secret.length >= 20);
    assert.equal(dump.includes(secret), false);
  }
});
