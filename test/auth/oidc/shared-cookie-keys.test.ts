/**
 * Two processes of one deployment sign and read the same OIDC cookies: an
 * interaction started on A is finished on B. With the default the key is
 * derived from the shared master key; with CADUCEUS_OIDC_COOKIE_KEYS_FILE it
 * is the operator's, and a process whose keys differ refuses the cookie.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as client from 'openid-client';
import { postgresSkip } from '../../helpers/database.js';
import { buildOAuthApp, type OAuthTestApp } from './harness.js';
import { addClinician, codeClient, redirectUri, userScope } from './fixtures.js';

/** Opens the authorization request on A and finishes its login on B with A's cookies; B's status. */
async function startOnAFinishOnB(a: OAuthTestApp, b: OAuthTestApp): Promise<number> {
  addClinician(a);
  const { config } = await codeClient(a);
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: userScope,
    state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const started = await a.app.inject({ method: 'GET', url: `${url.pathname}${url.search}` });
  const uid = /^\/interaction\/([^/?]+)/.exec(String(started.headers.location))?.[1];
  assert.ok(uid !== undefined, 'A sends the browser to its login');
  const cookie = started.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const query = new URLSearchParams({ accountId: 'user-1', amr: 'pwd,otp', acr: 'urn:caduceus:acr:mfa' });
  const finished = await b.app.inject({
    method: 'POST',
    url: `/interaction/${uid}/test-login?${query.toString()}`,
    headers: { cookie },
  });
  return finished.statusCode;
}

/** A keys file (hex, one a line) in the shared data folder. */
async function keysFile(a: OAuthTestApp, keys: readonly Buffer[]): Promise<string> {
  const file = path.join(a.dir, `cookie-keys-${randomBytes(4).toString('hex')}`);
  await writeFile(file, keys.map((key) => key.toString('hex')).join('\n'), { mode: 0o600 });
  return file;
}

describe('cookie keys shared by the processes of one deployment', async () => {
  const skip = await postgresSkip();

  test('by default (derived from the shared master key) B finishes the login A started', { skip }, async (t) => {
    const a = await buildOAuthApp(t, { database: 'postgres' });
    const b = await buildOAuthApp(t, { sharing: a });
    assert.equal(await startOnAFinishOnB(a, b), 303);
  });

  test('with the same configured keys B accepts them; with other keys B refuses them', { skip }, async (t) => {
    const [first, second] = [randomBytes(32), randomBytes(32)];
    const seed = await buildOAuthApp(t, { database: 'postgres' });
    const a = await buildOAuthApp(t, {
      sharing: seed,
      env: { CADUCEUS_OIDC_COOKIE_KEYS_FILE: await keysFile(seed, [first]) },
    });
    // B has moved on to a new key but still reads cookies signed with the old one (rotation, newest first).
    const b = await buildOAuthApp(t, {
      sharing: seed,
      env: { CADUCEUS_OIDC_COOKIE_KEYS_FILE: await keysFile(seed, [second, first]) },
    });
    assert.equal(await startOnAFinishOnB(a, b), 303);
    const c = await buildOAuthApp(t, {
      sharing: seed,
      env: { CADUCEUS_OIDC_COOKIE_KEYS_FILE: await keysFile(seed, [second]) },
    });
    assert.notEqual(await startOnAFinishOnB(a, c), 303);
  });
});
