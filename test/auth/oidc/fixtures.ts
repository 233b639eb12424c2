import assert from 'node:assert/strict';
import * as client from 'openid-client';
import type { OAuthTestApp } from './harness.js';
import { discover, TestBrowser } from './http.js';

export const redirectUri = 'https://app.example/callback';
export const userScope = 'openid fhirUser offline_access user/*.cruds';

/** Header and payload of a compact JWS, unverified (the tests verify through the gate). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
  };
}

/** A confidential code-flow client (client_secret_basic), discovered by openid-client. */
export async function codeClient(
  t: OAuthTestApp,
): Promise<{ config: client.Configuration; clientId: string; secret: string }> {
  const { clientId, secret } = await t.registerClient({
    name: 'Chart viewer',
    role: 'clinician',
    authMethod: 'client_secret_basic',
    grantTypes: ['authorization_code'],
    redirectUris: [redirectUri],
    scope: 'openid fhirUser offline_access launch/patient patient/*.rs user/*.cruds',
  });
  assert.ok(secret !== null);
  const config = await discover(t.app, t.config.auth.issuer, clientId, client.ClientSecretBasic(secret));
  return { config, clientId, secret };
}

/** A clinician account findAccount knows. */
export function addClinician(t: OAuthTestApp, id = 'user-1'): void {
  t.accounts.set(id, {
    accountId: id,
    role: 'clinician',
    patient: null,
    fhirUser: `Practitioner/${id}`,
    disabled: false,
  });
}

/** Runs the front channel: authorization request, test login, redirect back with a code. */
export async function authorize(
  t: OAuthTestApp,
  config: client.Configuration,
  extra: Record<string, string> = {},
  accountId = 'user-1',
) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: userScope,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  const callback = await new TestBrowser(t.app).authorize(url, { accountId });
  return { callback, verifier, state, url };
}

/** Code + PKCE through to tokens. */
export async function login(t: OAuthTestApp, config: client.Configuration, accountId = 'user-1') {
  const { callback, verifier, state } = await authorize(t, config, {}, accountId);
  return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

/** GET /api/v1/patients with the token; the status the gate and access layer answer. */
export async function apiStatus(t: OAuthTestApp, token: string): Promise<number> {
  const response = await t.app.inject({
    method: 'GET',
    url: '/api/v1/patients',
    headers: { authorization: `Bearer ${token}` },
  });
  return response.statusCode;
}

/** POSTs a form to a provider endpoint, as a client that does not use openid-client would. */
export async function postForm(
  t: OAuthTestApp,
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return t.app.inject({
    method: 'POST',
    url,
    payload: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** The Basic credentials of RFC 6749 §2.3.1 (form-urlencoded id and secret). */
export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}
