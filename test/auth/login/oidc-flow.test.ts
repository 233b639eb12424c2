import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { acrValues } from '../../../src/auth/oidc/facade.js';
import { httpsRequest, type HttpsResult } from '../../helpers/process.js';
import { httpsFetch, startHttpsLoginServer, type HttpsLoginServer } from './https-harness.js';
import { totpCode } from './login-helpers.js';

const password = 'correct horse battery staple 42';
const redirectUri = 'https://client.example/callback';

/** A browser without JavaScript: HTTPS requests, a cookie jar, form posts. */
class FormBrowser {
  readonly #cookies = new Map<string, string>();
  constructor(private readonly server: HttpsLoginServer) {}

  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<HttpsResult> {
    const target = new URL(url, this.server.issuer);
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    const response = await httpsRequest(target.toString(), this.server.ca, {
      method,
      headers: {
        ...(cookie !== '' && { cookie }),
        ...(body !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(body !== undefined && { body }),
    });
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : []) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  }

  /** GETs and follows redirects while they stay on the server; returns the last response and where it pointed. */
  async follow(url: string): Promise<{ response: HttpsResult; location: string | undefined }> {
    let response = await this.request('GET', url);
    let location = response.headers.location as string | undefined;
    while (
      location !== undefined &&
      new URL(location, this.server.issuer).origin === this.server.issuer &&
      !location.includes('/interaction/')
    ) {
      response = await this.request('GET', location);
      location = response.headers.location as string | undefined;
    }
    return { response, location };
  }
}

function csrfOf(body: string): string {
  return /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';
}

/** The authorization URL of a code + PKCE (S256) request, and its verifier. */
async function authorizationRequest(configuration: client.Configuration) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    scope: 'openid user/*.rs',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { url, verifier };
}

test('openid-client code + PKCE through the real login, TOTP enrolment and TOTP pages, over TLS: the tokens carry amr and acr of MFA', async (t) => {
  const server = await startHttpsLoginServer(t);
  const user = await server.users.admin.create({ username: 'dr.house', role: 'clinician', password });
  const clientId = await server.registerClient(redirectUri);
  const fetch = httpsFetch(server.ca);
  const configuration = await client.discovery(
    new URL(server.issuer),
    clientId,
    { token_endpoint_auth_method: 'none' },
    client.None(),
    { [client.customFetch]: fetch },
  );
  configuration[client.customFetch] = fetch;

  // First login: password, then the forced TOTP enrolment (no script anywhere).
  const first = await authorizationRequest(configuration);
  const browser = new FormBrowser(server);
  const start = await browser.follow(first.url.toString());
  const uid = /^\/interaction\/([^/?]+)$/.exec(start.location ?? '')?.[1] ?? '';
  assert.notEqual(uid, '', `redirected to the login page, got ${String(start.location)}`);
  const page = await browser.request('GET', `/interaction/${uid}`);
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-security-policy']), /^default-src 'self'/);
  const login = await browser.request('POST', `/interaction/${uid}/login`, {
    username: 'dr.house',
    password,
    csrf: csrfOf(page.body),
  });
  assert.equal(login.status, 303);
  assert.equal(login.headers.location, `/interaction/${uid}/enrol`);
  const enrol = await browser.request('GET', `/interaction/${uid}/enrol`);
  const secret = (/<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.body)?.[1] ?? '').replaceAll(' ', '');
  const confirmed = await browser.request('POST', `/interaction/${uid}/enrol/totp`, {
    code: totpCode(secret),
    csrf: csrfOf(enrol.body),
  });
  assert.equal(confirmed.status, 303);
  const codes = await browser.request('GET', `/interaction/${uid}/recovery-codes`);
  const done = await browser.request('POST', `/interaction/${uid}/continue`, { csrf: csrfOf(codes.body) });
  assert.equal(done.status, 303);
  const callback = await browser.follow(done.headers.location as string);
  assert.ok(callback.location?.startsWith(redirectUri), `ends at the client: ${String(callback.location)}`);
  const tokens = await client.authorizationCodeGrant(configuration, new URL(callback.location ?? ''), {
    pkceCodeVerifier: first.verifier,
  });
  const access = decodeJwt(tokens.access_token);
  assert.equal(access.sub, user.id);
  assert.deepEqual(access.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(access.acr, acrValues.mfa);

  // Second login in a fresh browser: password, then the TOTP form (a code of the next step: the first one is spent).
  const second = await authorizationRequest(configuration);
  const other = new FormBrowser(server);
  const again = await other.follow(second.url.toString());
  const uid2 = /^\/interaction\/([^/?]+)$/.exec(again.location ?? '')?.[1] ?? '';
  const page2 = await other.request('GET', `/interaction/${uid2}`);
  const login2 = await other.request('POST', `/interaction/${uid2}/login`, {
    username: 'dr.house',
    password,
    csrf: csrfOf(page2.body),
  });
  assert.equal(login2.headers.location, `/interaction/${uid2}/mfa`);
  const mfa = await other.request('GET', `/interaction/${uid2}/mfa`);
  const replay = await other.request('POST', `/interaction/${uid2}/mfa/totp`, {
    code: totpCode(secret),
    csrf: csrfOf(mfa.body),
  });
  assert.equal(replay.status, 401, 'the enrolment code is spent');
  const verified = await other.request('POST', `/interaction/${uid2}/mfa/totp`, {
    code: totpCode(secret, 1),
    csrf: csrfOf(mfa.body),
  });
  assert.equal(verified.status, 303);
  const callback2 = await other.follow(verified.headers.location as string);
  const tokens2 = await client.authorizationCodeGrant(configuration, new URL(callback2.location ?? ''), {
    pkceCodeVerifier: second.verifier,
  });
  assert.deepEqual(decodeJwt(tokens2.access_token).amr, ['pwd', 'otp', 'mfa']);

  // Audited: password, enrolment, MFA failure and success, login success; never the password, seed or code.
  const kinds = (await server.auditEvents())
    .filter((e) => e.category === 'auth')
    .map((e) => `${e.action.interaction}:${e.outcome.code ?? 'ok'}`);
  for (const expected of [
    'login.password:ok',
    'mfa.enrol:ok',
    'mfa.verify:replayed_code',
    'mfa.verify:ok',
    'login.success:ok',
  ])
    assert.ok(kinds.includes(expected), expected);
  const text = JSON.stringify(await server.auditEvents());
  assert.ok(!text.includes(password) && !text.includes(secret) && !text.includes(tokens.access_token));
});
