/**
 * `caduceus client create|list|disable`, `caduceus token revoke` and `caduceus user disable` as child
 * processes on the database and keyring of a running authorization server
 * (the harness, in this process): what they print, what they change at the
 * token endpoint and the API, and the audit event of every run.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { caduceusEnv, processScope, runCliProcess, type ProcessScope } from '../../helpers/process.js';
import { buildOAuthApp, type OAuthTestApp } from './harness.js';
import { addClinician, apiStatus, basic, codeClient, login, postForm } from './fixtures.js';

function cli(scope: ProcessScope, oauth: OAuthTestApp, args: readonly string[], input?: string) {
  return runCliProcess(
    scope,
    caduceusEnv(oauth.dir, { CADUCEUS_DATABASE_URL: oauth.databaseUrl }),
    args,
    30_000,
    input === undefined ? {} : { input },
  );
}

interface CliEvent {
  readonly time: string;
  readonly category: string;
  readonly actor: { readonly osUser?: string };
  readonly action: { readonly interaction: string; readonly details?: Readonly<Record<string, unknown>> };
}

/** The CLI's audit events in the order they happened (each run is its own writer). */
async function cliEvents(oauth: OAuthTestApp): Promise<CliEvent[]> {
  const rows = await oauth.db.audit.read({ limit: 1000 });
  return rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as CliEvent)
    .filter((event) => event.category === 'cli')
    .sort((left, right) => left.time.localeCompare(right.time));
}

test('client create (private_key_jwt with a JWKS file, client_secret_basic), list and disable', async (t) => {
  const scope = await processScope(t);
  const oauth = await buildOAuthApp(t);
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const jwksFile = path.join(scope.dir, 'device.jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'd1', alg: 'ES384' }] }));
  const device = await cli(scope, oauth, [
    'client',
    'create',
    '--name',
    'Pump 7',
    '--role',
    'device',
    '--auth',
    'private_key_jwt',
    '--grant',
    'client_credentials',
    '--jwks-file',
    jwksFile,
    '--scope',
    'system/Observation.c',
    '--json',
  ]);
  assert.equal(device.code, 0, device.stderr);
  const created = JSON.parse(device.stdout) as { clientId: string; authMethod: string; client_secret?: string };
  assert.equal(created.authMethod, 'private_key_jwt');
  assert.equal(created.client_secret, undefined);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: `j-${now}` })
    .setProtectedHeader({ alg: 'ES384', kid: 'd1' })
    .setIssuer(created.clientId)
    .setSubject(created.clientId)
    .setAudience(oauth.config.auth.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(privateKey);
  const issued = await postForm(oauth, '/token', {
    grant_type: 'client_credentials',
    scope: 'system/Observation.c',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
  assert.equal(issued.statusCode, 200, issued.body);

  const backend = await cli(scope, oauth, [
    'client',
    'create',
    '--name',
    'Export',
    '--role',
    'billing',
    '--auth',
    'client_secret_basic',
    '--grant',
    'client_credentials',
    '--json',
  ]);
  assert.equal(backend.code, 0, backend.stderr);
  const withSecret = JSON.parse(backend.stdout) as { clientId: string; client_secret: string };
  assert.equal(
    (
      await postForm(
        oauth,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(withSecret.clientId, withSecret.client_secret) },
      )
    ).statusCode,
    200,
  );

  const listed = await cli(scope, oauth, ['client', 'list', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { clientId: string }[]).map((entry) => entry.clientId).sort(),
    [created.clientId, withSecret.clientId].sort(),
  );
  assert.equal(listed.stdout.includes(withSecret.client_secret), false);

  const disabled = await cli(scope, oauth, ['client', 'disable', withSecret.clientId, '--json']);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal(
    (
      await postForm(
        oauth,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(withSecret.clientId, withSecret.client_secret) },
      )
    ).statusCode,
    401,
  );

  const refused = await cli(scope, oauth, [
    'client',
    'create',
    '--name',
    'Bad',
    '--role',
    'device',
    '--auth',
    'private_key_jwt',
    '--grant',
    'client_credentials',
    '--jwks-uri',
    'http://insecure.example/jwks',
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /https/);

  const events = await cliEvents(oauth);
  assert.deepEqual(
    events.map((event) => event.action.interaction),
    ['client.create', 'client.create', 'client.list', 'client.disable', 'client.create'],
  );
  assert.ok(events.every((event) => event.actor.osUser === userInfo().username));
  const audited = JSON.stringify(await oauth.db.audit.read({ limit: 1000 }));
  assert.equal(audited.includes(withSecret.client_secret), false);
});

test('token revoke --user and --client end every grant and live token at once', async (t) => {
  const scope = await processScope(t);
  const oauth = await buildOAuthApp(t);
  addClinician(oauth);
  const { config, clientId, secret } = await codeClient(oauth);
  const tokens = await login(oauth, config);
  assert.equal(await apiStatus(oauth, tokens.access_token), 200);
  const byUser = await cli(scope, oauth, ['token', 'revoke', '--user', 'user-1', '--json']);
  assert.equal(byUser.code, 0, byUser.stderr);
  assert.equal((JSON.parse(byUser.stdout) as { grantsRevoked: number }).grantsRevoked, 1);
  assert.equal(await apiStatus(oauth, tokens.access_token), 401);
  const refresh = await postForm(
    oauth,
    '/token',
    { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(refresh.json<Record<string, unknown>>().error, 'invalid_grant');

  // A later login works again (the revocation covers tokens issued until it ran) …
  // The revocation holds its whole second (iat has whole seconds): the app in this process moves on a fake Date,
  // one second past the CLI's clock, instead of sleeping into the next second.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 1000 });
  const again = await login(oauth, config);
  assert.equal(await apiStatus(oauth, again.access_token), 200);
  // … until the client is revoked: its users' grants end too.
  const byClient = await cli(scope, oauth, ['token', 'revoke', '--client', clientId]);
  assert.equal(byClient.code, 0, byClient.stderr);
  assert.equal(await apiStatus(oauth, again.access_token), 401);

  const usage = await cli(scope, oauth, ['token', 'revoke', '--user', 'a', '--client', 'b']);
  assert.equal(usage.code, 2);
  const events = await cliEvents(oauth);
  assert.deepEqual(
    events.map((event) => event.action.interaction),
    ['token.revoke', 'token.revoke', 'token.revoke'],
  );
  assert.equal(events[0]?.action.details?.user, 'user-1');
});

test("user disable ends the user's grants and refresh tokens too, as token revoke --user does", async (t) => {
  const scope = await processScope(t);
  const oauth = await buildOAuthApp(t);
  const created = await cli(
    scope,
    oauth,
    ['user', 'create', '--username', 'nurse.joy', '--role', 'nurse', '--json'],
    'Twelve+ chars, not on any list',
  );
  assert.equal(created.code, 0, created.stderr);
  const { id } = JSON.parse(created.stdout) as { id: string };
  // The harness's account directory stands for the user directory: the same id signs in.
  oauth.accounts.set(id, { accountId: id, role: 'nurse', patient: null, fhirUser: null, disabled: false });
  const { config, clientId, secret } = await codeClient(oauth);
  const tokens = await login(oauth, config, id);
  assert.ok(tokens.refresh_token !== undefined);
  assert.equal(await apiStatus(oauth, tokens.access_token), 200);

  const disabled = await cli(scope, oauth, ['user', 'disable', '--user', 'nurse.joy', '--json']);
  assert.equal(disabled.code, 0, disabled.stderr);
  const printed = JSON.parse(disabled.stdout) as {
    status: string;
    tokensRevoked: boolean;
    grantsRevoked: number;
    recordsDeleted: number;
  };
  assert.deepEqual(
    { status: printed.status, tokensRevoked: printed.tokensRevoked, grantsRevoked: printed.grantsRevoked },
    { status: 'disabled', tokensRevoked: true, grantsRevoked: 1 },
  );
  assert.ok(printed.recordsDeleted >= 2, 'the grant and its refresh token are deleted');
  assert.equal(await apiStatus(oauth, tokens.access_token), 401);
  // The refresh token is gone from storage: refused even though the harness's directory still calls the account active.
  const refresh = await postForm(
    oauth,
    '/token',
    { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
    { authorization: basic(clientId, secret) },
  );
  assert.equal(refresh.json<Record<string, unknown>>().error, 'invalid_grant');
  const events = await cliEvents(oauth);
  assert.deepEqual(events.at(-1)?.action.details, {
    userId: id,
    username: 'nurse.joy',
    status: 'disabled',
    tokensRevoked: true,
    grants: 1,
    records: printed.recordsDeleted,
  });
});
