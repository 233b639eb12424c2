/**
 * Two real server processes on one PostgreSQL: this test process (the
 * harness, where the test-only login route completes the interaction) and a
 * spawned `src/main.ts` sharing its database, keyring and master key. The
 * token from one works on the other, the refresh on the other rotates, the
 * replay on the first ends the grant on both, and one refresh token raced on
 * both is redeemed once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postgresSkip } from '../../helpers/database.js';
import { caduceusEnv, httpsRequest, processScope, spawnServer, type ServerProcess } from '../../helpers/process.js';
import { buildOAuthApp, type OAuthTestApp } from './harness.js';
import { codeClient, login, postForm, basic } from './fixtures.js';

async function refreshOnProcess(server: ServerProcess, clientId: string, secret: string, refreshToken: string) {
  const response = await httpsRequest(`${server.url}/token`, server.ca, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, secret) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: response.status, body: JSON.parse(response.body) as Record<string, string> };
}

async function apiOnProcess(server: ServerProcess, token: string): Promise<number> {
  return (
    await httpsRequest(`${server.url}/api/v1/patients`, server.ca, { headers: { authorization: `Bearer ${token}` } })
  ).status;
}

async function setUp(t: Parameters<typeof buildOAuthApp>[0]): Promise<{ a: OAuthTestApp; b: ServerProcess }> {
  const a = await buildOAuthApp(t, { database: 'postgres' });
  // The spawned process reads accounts from the user directory: the user exists there.
  const at = new Date().toISOString();
  assert.equal(
    await a.db.users.create({
      id: 'u-proc',
      username: 'proc.user',
      role: 'clinician',
      kind: 'clinical',
      status: 'active',
      passwordHash: '$argon2id$unused',
      patientId: null,
      createdAt: at,
      updatedAt: at,
    }),
    'created',
  );
  a.accounts.set('u-proc', { accountId: 'u-proc', role: 'clinician', patient: null, fhirUser: null, disabled: false });
  const scope = await processScope(t);
  const b = await spawnServer(
    scope,
    caduceusEnv(a.dir, {
      CADUCEUS_DATABASE_URL: a.databaseUrl,
      CADUCEUS_ISSUER: a.config.auth.issuer,
      CADUCEUS_RATE_LIMIT: 'off',
      CADUCEUS_LOG_LEVEL: 'info',
    }),
  );
  return { a, b };
}

describe('two OS processes on one PostgreSQL', async () => {
  const skip = await postgresSkip();

  test(
    'log in on this process, use and refresh on the spawned one, replay here: the grant ends on both',
    { skip },
    async (t) => {
      const { a, b } = await setUp(t);
      const { config, clientId, secret } = await codeClient(a);
      const first = await login(a, config, 'u-proc');
      assert.equal(await apiOnProcess(b, first.access_token), 200);
      const second = await refreshOnProcess(b, clientId, secret, first.refresh_token ?? '');
      assert.equal(second.status, 200, JSON.stringify(second.body.error));
      assert.notEqual(second.body.refresh_token, first.refresh_token);
      const replay = await postForm(
        a,
        '/token',
        { grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '' },
        { authorization: basic(clientId, secret) },
      );
      assert.equal(replay.json<Record<string, unknown>>().error, 'invalid_grant');
      assert.equal(await apiOnProcess(b, second.body.access_token ?? ''), 401);
      assert.equal(
        (await refreshOnProcess(b, clientId, secret, second.body.refresh_token ?? '')).body.error,
        'invalid_grant',
      );
    },
  );

  test('one refresh token raced on both processes is redeemed once', { skip }, async (t) => {
    const { a, b } = await setUp(t);
    const { config, clientId, secret } = await codeClient(a);
    const first = await login(a, config, 'u-proc');
    const [here, there] = await Promise.all([
      postForm(
        a,
        '/token',
        { grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '' },
        { authorization: basic(clientId, secret) },
      ),
      refreshOnProcess(b, clientId, secret, first.refresh_token ?? ''),
    ]);
    assert.deepEqual([here.statusCode, there.status].sort(), [200, 400]);
  });
});
