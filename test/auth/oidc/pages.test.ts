/**
 * The pages oidc-provider renders through src/auth/oidc/pages.ts: the error
 * page escapes what it shows and never echoes the request, and the logout
 * confirmation works as a real form (its CSRF field is oidc-provider's) and
 * ends the session. Both are served under the security headers' CSP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'openid-client';
import { buildOAuthApp } from './harness.js';
import { TestBrowser } from './http.js';
import { addClinician, codeClient, redirectUri } from './fixtures.js';

test('an authorization error page shows only the RFC 6749 code, escaped, with no script and a CSP', async (t) => {
  const oauth = await buildOAuthApp(t);
  const probe = '"><script>alert(1)</script>';
  const response = await oauth.app.inject({
    method: 'GET',
    url: `/authorize?${new URLSearchParams({ client_id: probe, response_type: 'code', scope: 'openid', redirect_uri: `${redirectUri}${probe}` }).toString()}`,
  });
  assert.equal(response.statusCode, 400);
  assert.match(String(response.headers['content-type']), /^text\/html/);
  assert.match(response.body, /<code>invalid_client<\/code>/);
  assert.equal(response.body.includes('<script'), false);
  assert.equal(response.body.includes('alert(1)'), false);
  assert.match(String(response.headers['content-security-policy']), /default-src 'self'/);
});

test("logout: the confirmation page posts oidc-provider's form, and the next /authorize asks for login again", async (t) => {
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const url = async () =>
    client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      state: client.randomState(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
  const browser = new TestBrowser(oauth.app);
  assert.ok((await browser.authorize(await url(), { accountId: 'user-1' })).searchParams.has('code'));

  const confirm = await browser.request('GET', '/session/end');
  assert.equal(confirm.statusCode, 200);
  assert.match(confirm.body, /^<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out<\/title>/);
  assert.match(
    confirm.body,
    /<button form="op\.logoutForm" type="submit" name="logout" value="yes">Sign out<\/button>/,
  );
  assert.match(confirm.body, /<form id="op\.logoutForm"[^>]*>/);
  assert.equal(confirm.body.includes('<script'), false);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
  assert.ok(xsrf !== undefined, "oidc-provider's CSRF field is on the page");

  // Without oidc-provider's CSRF value the logout is refused.
  assert.equal(
    (await browser.request('POST', '/session/end/confirm', { logout: 'yes', xsrf: 'forged' })).statusCode,
    400,
  );
  let done = await browser.request('POST', '/session/end/confirm', { logout: 'yes', xsrf });
  while (done.statusCode >= 300 && done.statusCode < 400 && typeof done.headers.location === 'string')
    done = await browser.request('GET', done.headers.location);
  assert.equal(done.statusCode, 200);
  assert.match(done.body, /<h1>You are signed out<\/h1>/);
  const after = await browser.request('GET', (await url()).toString());
  assert.match(String(after.headers.location), /^\/interaction\//);
});
