/**
 * RFC 8705 in the authorization server, over real TLS to the real server:
 * device clients registered with `caduceus client create` authenticate
 * with their certificate on the mutual-TLS listener (tls_client_auth,
 * self_signed_tls_client_auth) or with private_key_jwt, and get access
 * tokens bound to that certificate (`cnf.x5t#S256`) that the API accepts
 * only with it. Discovery publishes the listener's aliases only when it runs.
 */
import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { generate } from 'selfsigned';
import { thumbprintOfPem } from '../../../src/lib/certificate-thumbprint.js';
import {
  caduceusEnv,
  processScope,
  runCliProcess,
  startInProcess,
  type InProcessServer,
  type ProcessScope,
} from '../../helpers/process.js';
import { makeCa, makeClientCert, tlsRequest, type Pem } from '../../edge/mtls-pki.js';
import { decodeJwt, postForm } from './fixtures.js';
import { buildOAuthApp } from './harness.js';

const scope = 'system/Patient.rs';

interface Device {
  readonly scope: ProcessScope;
  readonly env: Record<string, string>;
  readonly server: InProcessServer;
  readonly ca: Pem;
  readonly mainPort: number;
  readonly mtlsPort: number;
}

/** The real server with a device listener on a CA of its own. */
async function deviceServer(t: Parameters<typeof processScope>[0]): Promise<Device> {
  const processes = await processScope(t);
  const ca = await makeCa('Caduceus Test Device CA');
  const caPath = path.join(processes.dir, 'device-ca.pem');
  await writeFile(caPath, ca.cert);
  const env = caduceusEnv(processes.dir, {
    CADUCEUS_MTLS_PORT: '0',
    CADUCEUS_MTLS_CA: caPath,
    CADUCEUS_MTLS_URL: 'https://devices.example:9443',
  });
  const server = await startInProcess(processes, env);
  return {
    scope: processes,
    env,
    server,
    ca,
    mainPort: Number(new URL(server.url).port),
    mtlsPort: Number(new URL(server.mtlsUrl ?? '').port),
  };
}

/** `caduceus client create … --json` for a clinician-role backend client; the new client id. */
async function createClient(device: Device, args: readonly string[]): Promise<string> {
  const run = await runCliProcess(device.scope, device.env, [
    'client',
    'create',
    '--name',
    'Monitor',
    '--role',
    'clinician',
    '--grant',
    'client_credentials',
    '--scope',
    scope,
    '--json',
    ...args,
  ]);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as { clientId: string }).clientId;
}

/** A client_credentials request to /token on `port`, presenting `client` when given. */
function tokenRequest(device: Device, port: number, form: Record<string, string>, client?: Pem) {
  return tlsRequest({
    port,
    ca: device.server.ca,
    path: '/token',
    method: 'POST',
    ...(client !== undefined && { client }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, ...form }).toString(),
  });
}

function apiRead(device: Device, port: number, token: string, client?: Pem) {
  return tlsRequest({
    port,
    ca: device.server.ca,
    path: '/api/v1/patients',
    headers: { authorization: `Bearer ${token}` },
    ...(client !== undefined && { client }),
  });
}

function accessTokenOf(body: string): string {
  return (JSON.parse(body) as { access_token: string }).access_token;
}

function errorOf(body: string): string {
  return (JSON.parse(body) as { error: string }).error;
}

test('tls_client_auth: a device gets a token bound to its certificate, good only with that certificate on the device listener', async (t) => {
  const device = await deviceServer(t);
  const pump = await makeClientCert(device.ca, 'device-0001');
  const sibling = await makeClientCert(device.ca, 'device-0002');
  const clientId = await createClient(device, [
    '--auth',
    'tls_client_auth',
    '--subject-dn',
    'CN=device-0001',
    '--bound-tokens',
  ]);

  const issued = await tokenRequest(device, device.mtlsPort, { client_id: clientId }, pump);
  assert.equal(issued.status, 200, issued.body);
  const token = accessTokenOf(issued.body);
  const { payload } = decodeJwt(token);
  // RFC 8705 §3.1: base64url SHA-256 of the DER certificate the token was requested with.
  assert.deepEqual(payload.cnf, { 'x5t#S256': thumbprintOfPem(pump.cert) });
  assert.equal(payload.client_id, clientId);

  assert.equal((await apiRead(device, device.mtlsPort, token, pump)).status, 200, 'its own certificate');
  assert.equal((await apiRead(device, device.mtlsPort, token, sibling)).status, 401, 'a sibling device of the same CA');
  assert.equal((await apiRead(device, device.mainPort, token)).status, 401, 'the main listener: no certificate');

  // Another device of the same CA is not this client (RFC 8705 §2.1.2 subject match).
  const impostor = await tokenRequest(device, device.mtlsPort, { client_id: clientId }, sibling);
  assert.equal(impostor.status, 401);
  assert.equal(errorOf(impostor.body), 'invalid_client');
  // The main listener asks for no certificate: tls_client_auth cannot succeed there.
  const main = await tokenRequest(device, device.mainPort, { client_id: clientId });
  assert.equal(main.status, 401);
  assert.equal(errorOf(main.body), 'invalid_client');
  // The introspection alias reports the binding (RFC 8705 §3.2).
  const introspected = await tlsRequest({
    port: device.mtlsPort,
    ca: device.server.ca,
    client: pump,
    path: '/token/introspection',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, token }).toString(),
  });
  assert.equal(introspected.status, 200, introspected.body);
  assert.deepEqual((JSON.parse(introspected.body) as { cnf?: unknown }).cnf, {
    'x5t#S256': thumbprintOfPem(pump.cert),
  });
});

test('the subject DN matches exactly, in RFC 4514 order', async (t) => {
  const device = await deviceServer(t);
  const now = Date.now();
  const pems = await generate(
    [
      { name: 'organizationName', value: 'Example Health' },
      { name: 'commonName', value: 'pump 7' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 86_400_000),
      notAfterDate: new Date(now + 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'extKeyUsage', clientAuth: true },
      ],
      ca: { key: device.ca.key, cert: device.ca.cert },
    },
  );
  const pump = { cert: pems.cert, key: pems.private };
  const exact = await createClient(device, ['--auth', 'tls_client_auth', '--subject-dn', 'CN=pump 7,O=Example Health']);
  const reversed = await createClient(device, [
    '--auth',
    'tls_client_auth',
    '--subject-dn',
    'O=Example Health,CN=pump 7',
  ]);
  const partial = await createClient(device, ['--auth', 'tls_client_auth', '--subject-dn', 'CN=pump 7']);
  const bound = await tokenRequest(device, device.mtlsPort, { client_id: exact }, pump);
  assert.equal(bound.status, 200, bound.body);
  // A certificate-authenticated client gets bound tokens even without --bound-tokens.
  assert.deepEqual(decodeJwt(accessTokenOf(bound.body)).payload.cnf, { 'x5t#S256': thumbprintOfPem(pump.cert) });
  for (const clientId of [reversed, partial]) {
    const refused = await tokenRequest(device, device.mtlsPort, { client_id: clientId }, pump);
    assert.equal(refused.status, 401);
    assert.equal(errorOf(refused.body), 'invalid_client');
  }
});

test('private_key_jwt and self_signed_tls_client_auth clients with --bound-tokens get bound tokens on the device listener', async (t) => {
  const device = await deviceServer(t);
  const pump = await makeClientCert(device.ca, 'device-0003');
  const other = await makeClientCert(device.ca, 'device-0004');
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const jwksFile = path.join(device.scope.dir, 'pump.jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' }] }));
  const keyed = await createClient(device, ['--auth', 'private_key_jwt', '--jwks-file', jwksFile, '--bound-tokens']);
  const assertion = async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: 'k1' })
      .setIssuer(keyed)
      .setSubject(keyed)
      .setAudience(device.server.config.auth.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    return {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signed,
    };
  };
  const issued = await tokenRequest(device, device.mtlsPort, await assertion(), pump);
  assert.equal(issued.status, 200, issued.body);
  const token = accessTokenOf(issued.body);
  assert.deepEqual(decodeJwt(token).payload.cnf, { 'x5t#S256': thumbprintOfPem(pump.cert) });
  assert.equal((await apiRead(device, device.mtlsPort, token, pump)).status, 200);
  assert.equal((await apiRead(device, device.mtlsPort, token, other)).status, 401);
  // RFC 8705 §3: a client registered for bound tokens gets none without a certificate.
  const unbound = await tokenRequest(device, device.mainPort, await assertion());
  assert.equal(unbound.status, 400);
  assert.equal(errorOf(unbound.body), 'invalid_grant');

  // self_signed_tls_client_auth: the registered certificate itself (x5c), whoever issued it.
  const x5c = new X509Certificate(pump.cert).raw.toString('base64');
  const pinnedFile = path.join(device.scope.dir, 'pinned.jwks.json');
  await writeFile(
    pinnedFile,
    JSON.stringify({ keys: [{ ...new X509Certificate(pump.cert).publicKey.export({ format: 'jwk' }), x5c: [x5c] }] }),
  );
  const pinned = await createClient(device, [
    '--auth',
    'self_signed_tls_client_auth',
    '--jwks-file',
    pinnedFile,
    '--bound-tokens',
  ]);
  const selfSigned = await tokenRequest(device, device.mtlsPort, { client_id: pinned }, pump);
  assert.equal(selfSigned.status, 200, selfSigned.body);
  assert.deepEqual(decodeJwt(accessTokenOf(selfSigned.body)).payload.cnf, { 'x5t#S256': thumbprintOfPem(pump.cert) });
  const notPinned = await tokenRequest(device, device.mtlsPort, { client_id: pinned }, other);
  assert.equal(notPinned.status, 401);
  assert.equal(errorOf(notPinned.body), 'invalid_client');
});

test('discovery publishes the device listener as mtls_endpoint_aliases, only when it is configured', async (t) => {
  const device = await deviceServer(t);
  const aliases = {
    token_endpoint: 'https://devices.example:9443/token',
    introspection_endpoint: 'https://devices.example:9443/token/introspection',
    revocation_endpoint: 'https://devices.example:9443/token/revocation',
  };
  for (const port of [device.mainPort, device.mtlsPort]) {
    const client = port === device.mtlsPort ? await makeClientCert(device.ca, 'device-0005') : undefined;
    const get = (url: string) =>
      tlsRequest({ port, ca: device.server.ca, path: url, ...(client !== undefined && { client }) });
    const discovery = JSON.parse((await get('/.well-known/openid-configuration')).body) as Record<string, unknown>;
    assert.deepEqual(discovery.mtls_endpoint_aliases, aliases);
    assert.equal(discovery.tls_client_certificate_bound_access_tokens, true);
    assert.ok((discovery.token_endpoint_auth_methods_supported as string[]).includes('tls_client_auth'));
    assert.ok((discovery.token_endpoint_auth_methods_supported as string[]).includes('self_signed_tls_client_auth'));
    const smart = JSON.parse((await get('/api/v1/.well-known/smart-configuration')).body) as Record<string, unknown>;
    assert.deepEqual(smart.mtls_endpoint_aliases, aliases);
    assert.equal(smart.tls_client_certificate_bound_access_tokens, true);
  }

  // Registration refusals name the problem and create nothing.
  const refusals: [readonly string[], RegExp][] = [
    [['--auth', 'tls_client_auth'], /subject DN/],
    [['--auth', 'tls_client_auth', '--subject-dn', 'pump-7'], /RFC 4514/],
    [['--auth', 'client_secret_basic', '--subject-dn', 'CN=pump-7'], /only for tls_client_auth/],
    [['--auth', 'self_signed_tls_client_auth'], /JWKS/],
  ];
  const keyOnly = path.join(device.scope.dir, 'key-only.jwks.json');
  const { publicKey } = await generateKeyPair('ES384');
  await writeFile(keyOnly, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
  refusals.push([['--auth', 'self_signed_tls_client_auth', '--jwks-file', keyOnly], /x5c/]);
  for (const [args, message] of refusals) {
    const run = await runCliProcess(device.scope, device.env, [
      'client',
      'create',
      '--name',
      'Bad',
      '--role',
      'clinician',
      '--grant',
      'client_credentials',
      ...args,
    ]);
    assert.equal(run.code, 2, args.join(' '));
    assert.match(run.stderr, message);
  }
  const listed = await runCliProcess(device.scope, device.env, ['client', 'list', '--json']);
  assert.deepEqual(JSON.parse(listed.stdout), []);
});

test('without a device listener: no aliases, and tls_client_auth cannot authenticate', async (t) => {
  const oauth = await buildOAuthApp(t);
  const discovery = (await oauth.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<
    Record<string, unknown>
  >();
  assert.equal(discovery.mtls_endpoint_aliases, undefined);
  assert.equal(discovery.claim_types_supported !== undefined, true, 'the provider keeps its other discovery defaults');
  const smart = (await oauth.app.inject({ method: 'GET', url: '/api/v1/.well-known/smart-configuration' })).json<
    Record<string, unknown>
  >();
  assert.equal(smart.mtls_endpoint_aliases, undefined);
  assert.equal(smart.tls_client_certificate_bound_access_tokens, undefined);
  const { clientId } = await oauth.registerClient({
    name: 'Pump',
    role: 'clinician',
    authMethod: 'tls_client_auth',
    grantTypes: ['client_credentials'],
    redirectUris: [],
    scope,
    subjectDn: 'CN=device-0001',
  });
  const refused = await postForm(oauth, '/token', { grant_type: 'client_credentials', client_id: clientId, scope });
  assert.equal(refused.statusCode, 401);
  assert.equal(refused.json<Record<string, unknown>>().error, 'invalid_client');
});
