/**
 * Automatic logoff after sign-in (HIPAA 164.312(a)(2)(iii)): the provider's
 * session keeps CADUCEUS_SESSION_IDLE_SECONDS and CADUCEUS_SESSION_ABSOLUTE_SECONDS.
 * While the session lives, a new /authorize from the same browser gets a code
 * at once (single sign-on); after the idle or absolute timeout it is sent to
 * the login interaction again. Time moves by mocking Date (STYLE.md #9).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as client from 'openid-client';
import { buildOAuthApp } from './harness.js';
import { TestBrowser } from './http.js';
import { addClinician, codeClient, redirectUri } from './fixtures.js';

const env = { CADUCEUS_SESSION_IDLE_SECONDS: '60', CADUCEUS_SESSION_ABSOLUTE_SECONDS: '200' };

/** Signs in once through the browser; returns what asks /authorize again and reports where it was sent. */
async function signedIn(t: TestContext) {
  const oauth = await buildOAuthApp(t, { env });
  addClinician(oauth);
  const { config } = await codeClient(oauth);
  const url = async () =>
    client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid fhirUser user/*.cruds',
      state: client.randomState(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
  const browser = new TestBrowser(oauth.app);
  // Time is frozen from here on and moved by hand.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const first = await browser.authorize(await url(), { accountId: 'user-1' });
  assert.ok(first.searchParams.has('code'), first.toString());
  /** `sso`: a code straight away; `login`: the login interaction again. */
  const again = async (): Promise<'sso' | 'login'> => {
    const response = await browser.request('GET', (await url()).toString());
    const location = String(response.headers.location);
    if (location.startsWith(`${redirectUri}?`) && new URL(location).searchParams.has('code')) return 'sso';
    assert.match(location, /^\/interaction\/[^/]+$/, `unexpected answer ${response.statusCode}`);
    return 'login';
  };
  const wait = (seconds: number): void => {
    t.mock.timers.tick(seconds * 1000);
  };
  return { again, wait };
}

test('idle timeout: a session used within the idle time stays; one left idle longer needs a new login', async (t) => {
  const { again, wait } = await signedIn(t);
  wait(50);
  assert.equal(await again(), 'sso');
  // Each use extends the session: 100 s after sign-in, but only 50 s idle; 161 s is still within the absolute timeout.
  wait(50);
  assert.equal(await again(), 'sso');
  wait(61);
  assert.equal(await again(), 'login');
});

test('absolute timeout: a session in constant use still ends that long after sign-in', async (t) => {
  const { again, wait } = await signedIn(t);
  for (let elapsed = 40; elapsed <= 160; elapsed += 40) {
    wait(40);
    assert.equal(await again(), 'sso', `at ${elapsed} s`);
  }
  // 210 s after sign-in, 50 s after the last use: past the absolute timeout, within the idle one.
  wait(50);
  assert.equal(await again(), 'login');
});

test('a session just short of the idle timeout is still signed in (the boundary is the setting, not sooner)', async (t) => {
  const { again, wait } = await signedIn(t);
  wait(58);
  assert.equal(await again(), 'sso');
});
