import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { chromium, type Page } from 'playwright-core';
import { acrValues } from '../../../src/auth/oidc/facade.js';
import { httpsFetch, startHttpsLoginServer } from './https-harness.js';

const password = 'correct horse battery staple 42';
const redirectUri = 'https://client.example/callback';

/** Starts an authorization request (code + PKCE S256) and returns its URL and verifier. */
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

/** The request the browser makes to the client's redirect_uri (never answered by the network: a route fulfils it). */
async function callbackOf(page: Page, action: () => Promise<unknown>): Promise<URL> {
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(redirectUri), { timeout: 20_000 }),
    action(),
  ]);
  // Let that navigation settle (the route's page, or the browser's error page) before the next one starts.
  await page.waitForLoadState('load').catch(() => undefined);
  await page.waitForTimeout(200);
  return new URL(request.url());
}

test('Chromium with a virtual WebAuthn authenticator: passkey enrolment after the password, then a passwordless passkey login; tokens show MFA', async (t) => {
  const server = await startHttpsLoginServer(t);
  const user = await server.users.admin.create({ username: 'nurse.joy', role: 'nurse', password });
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

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--host-resolver-rules=MAP localhost 127.0.0.1'],
  });
  t.after(() => browser.close());
  // The development certificate is self-signed; the page is still a secure context (https), as WebAuthn requires.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  await context.route(`${redirectUri}**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/plain', body: 'client' }),
  );
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  // Enrolment: password form (no script needed), then "create a passkey" (the progressive enhancement).
  const first = await authorizationRequest(configuration);
  await page.goto(first.url.toString());
  await page.waitForURL(/\/interaction\/[^/]+$/);
  await page.fill('#username', 'nurse.joy');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/enrol$/);
  assert.ok(await page.locator('figure.qr svg').isVisible(), 'the QR code is drawn');
  await page.click('button.passkey-button[data-purpose=register]');
  await page.waitForURL(/\/recovery-codes$/);
  assert.equal(await page.locator('ol.codes li').count(), 10);
  const callback = await callbackOf(page, () => page.click('button[type=submit]'));
  const tokens = await client.authorizationCodeGrant(configuration, callback, { pkceCodeVerifier: first.verifier });
  const enrolled = decodeJwt(tokens.access_token);
  assert.equal(enrolled.sub, user.id);
  assert.deepEqual(enrolled.amr, ['pwd', 'hwk', 'mfa']);
  assert.equal(enrolled.acr, acrValues.mfa);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'one discoverable credential on the authenticator');
  const [factor] = await server.db.mfaFactors.listByUser(user.id);
  assert.equal(factor?.kind, 'webauthn');
  assert.ok(!Buffer.from(factor.sealed).toString('latin1').includes('publicKey'), 'the credential is stored sealed');

  // A new browser session: the passkey alone signs in (discoverable credential, user verification).
  await context.clearCookies();
  const second = await authorizationRequest(configuration);
  await page.goto(second.url.toString());
  await page.waitForURL(/\/interaction\/[^/]+$/);
  const callback2 = await callbackOf(page, () => page.click('button.passkey-button[data-purpose=login]'));
  const tokens2 = await client.authorizationCodeGrant(configuration, callback2, { pkceCodeVerifier: second.verifier });
  const passkeyLogin = decodeJwt(tokens2.access_token);
  assert.equal(passkeyLogin.sub, user.id);
  assert.deepEqual(passkeyLogin.amr, ['hwk', 'user', 'mfa']);
  assert.equal(passkeyLogin.acr, acrValues.mfa);

  // After the password, the passkey is the second factor (the MFA page offers it).
  await context.clearCookies();
  const third = await authorizationRequest(configuration);
  await page.goto(third.url.toString());
  await page.waitForURL(/\/interaction\/[^/]+$/);
  await page.fill('#username', 'nurse.joy');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/mfa$/);
  const callback3 = await callbackOf(page, () => page.click('button.passkey-button[data-purpose=login]'));
  const tokens3 = await client.authorizationCodeGrant(configuration, callback3, { pkceCodeVerifier: third.verifier });
  assert.deepEqual(decodeJwt(tokens3.access_token).amr, ['pwd', 'hwk', 'mfa']);

  assert.deepEqual(cspViolations, [], 'no script or style was blocked: nothing inline');
  const kinds = (await server.auditEvents())
    .filter((e) => e.category === 'auth')
    .map((e) => `${e.action.interaction}:${e.outcome.code ?? 'ok'}`);
  for (const expected of ['mfa.enrol:ok', 'login.passkey:ok', 'mfa.verify:ok'])
    assert.ok(kinds.includes(expected), expected);
});
