/**
 * External identity provider mode (docs/external-idp.md): the real server
 * accepts RS256 tokens of a hospital IdP whose JWKS is served over HTTPS on
 * 127.0.0.1 (allow-listed here), maps its roles, follows a key rotation,
 * and fails closed while the IdP is unreachable.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { SignJWT } from 'jose';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  startInProcess,
  type InProcessServer,
  type ProcessScope,
} from '../helpers/process.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const issuer = 'https://idp.hospital.test/realms/caduceus';
const audience = 'caduceus-api';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

function rsaKey(kid: string, bits = 2048): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

/** A hospital IdP's jwks_uri: HTTPS on loopback with the test CA; its keys can rotate and it can go down. */
interface FakeIdp {
  readonly jwksUri: string;
  keys: SigningKey[];
  down: boolean;
  fetches: number;
}

async function startIdp(t: TestContext, ca: TestCa): Promise<FakeIdp> {
  const idp: FakeIdp = { jwksUri: '', keys: [], down: false, fetches: 0 };
  const server: Server = createServer(
    { cert: readFileSync(ca.certFile), key: readFileSync(ca.keyFile) },
    (request, response) => {
      idp.fetches += 1;
      // Down: the connection drops, as when the IdP's host is unreachable mid-way.
      if (idp.down) {
        request.socket.destroy();
        return;
      }
      if (request.url !== '/certs') {
        response.writeHead(404).end();
        return;
      }
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: idp.keys.map((key) => key.jwk) }));
    },
  );
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  const address = server.address();
  return Object.assign(idp, {
    jwksUri: `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/certs`,
  });
}

function issuersFile(idp: FakeIdp, ca: TestCa, extra: Record<string, unknown> = {}): unknown {
  return {
    issuers: [
      {
        issuer,
        jwks_uri: idp.jwksUri,
        audience,
        algorithms: ['RS256'],
        accepted_typ: ['JWT', 'at+jwt'],
        role_claim: 'realm_access.roles',
        roles: { 'caduceus-auditor': 'auditor', 'caduceus-clinician': 'clinician' },
        client_id_claim: 'azp',
        jwks_ca_file: ca.caFile,
        allow_addresses: ['127.0.0.1'],
        jwks_refresh_cooldown_seconds: 1,
        ...extra,
      },
    ],
  };
}

async function startCaduceus(scope: ProcessScope, document: unknown): Promise<InProcessServer> {
  const file = path.join(scope.dir, 'issuers.json');
  await writeFile(file, JSON.stringify(document));
  return startInProcess(scope, caduceusEnv(path.join(scope.dir, 'data'), { CADUCEUS_EXTERNAL_ISSUERS_FILE: file }));
}

interface TokenOptions {
  readonly roles?: unknown;
  readonly typ?: string;
  readonly aud?: string;
  readonly key: SigningKey;
}

function idpToken(options: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    azp: 'ward-portal',
    scope: 'openid user/*.rs',
    realm_access: { roles: options.roles ?? ['caduceus-auditor', 'offline_access'] },
  })
    .setProtectedHeader({ alg: 'RS256', kid: options.key.kid, typ: options.typ ?? 'JWT' })
    .setIssuer(issuer)
    .setAudience(options.aud ?? audience)
    .setSubject('f3a9c2e0-user')
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(options.key.privateKey);
}

async function auditSearch(server: InProcessServer, token: string): Promise<number> {
  const response = await httpsRequest(`${server.url}/api/v1/audit-events?_count=1`, server.ca, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status;
}

test("an external IdP's RS256 tokens are accepted, its roles mapped, its key rotation followed, its outage answered 503", async (t) => {
  const scope = await processScope(t, 'caduceus-idp-');
  const ca = createTestCa(scope.dir, 'IP:127.0.0.1');
  const idp = await startIdp(t, ca);
  const first = rsaKey('k1');
  idp.keys = [first];
  // The key cache's cooldown runs on Date.now, read in this process: a fake Date, frozen and moved by hand,
  // makes "within" and "past" the 1 s cooldown exact instead of a race against a loaded machine. Enabled before
  // the server starts, which keeps a reference to Date.now; its timers and sockets stay real.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const server = await startCaduceus(scope, issuersFile(idp, ca));

  // typ JWT (Keycloak's), mapped to auditor: audit search is an auditor's; the same user as clinician is refused by role.
  assert.equal(await auditSearch(server, await idpToken({ key: first })), 200);
  assert.equal(await auditSearch(server, await idpToken({ key: first, typ: 'at+jwt' })), 200);
  assert.equal(await auditSearch(server, await idpToken({ key: first, roles: ['caduceus-clinician'] })), 403);
  // No mapped role, two different mapped roles, a bare string that maps to nothing: refused, never guessed.
  assert.equal(await auditSearch(server, await idpToken({ key: first, roles: ['offline_access'] })), 401);
  assert.equal(
    await auditSearch(server, await idpToken({ key: first, roles: ['caduceus-auditor', 'caduceus-clinician'] })),
    401,
  );
  assert.equal(await auditSearch(server, await idpToken({ key: first, roles: 'admin' })), 401);
  // The audience is the IdP profile's own; the wrong typ and an unknown signer fail too.
  assert.equal(await auditSearch(server, await idpToken({ key: first, aud: server.config.auth.audience })), 401);
  assert.equal(await auditSearch(server, await idpToken({ key: first, typ: 'id+jwt' })), 401);
  assert.equal(await auditSearch(server, await idpToken({ key: { ...rsaKey('k1'), kid: 'k1' } })), 401);
  assert.equal(idp.fetches, 1, 'one fetch served every token signed with a known kid');

  // Rotation at the IdP: a token with the new kid makes the gate refetch once.
  const second = rsaKey('k2');
  const strangers = await Promise.all(['x1', 'x2', 'x3'].map((kid) => idpToken({ key: rsaKey(kid) })));
  const rotated = await idpToken({ key: second });
  idp.keys = [second];
  t.mock.timers.tick(1000);
  assert.equal(await auditSearch(server, rotated), 200);
  assert.equal(idp.fetches, 2);
  // Unknown kids within the cooldown fetch nothing more: the IdP is not hammered by random kids.
  for (const token of strangers) assert.equal(await auditSearch(server, token), 401);
  t.mock.timers.tick(999);
  assert.equal(await auditSearch(server, await idpToken({ key: rsaKey('x4') })), 401);
  assert.equal(idp.fetches, 2, 'no refetch within the cooldown, up to its last millisecond');
  t.mock.timers.tick(1);
  assert.equal(await auditSearch(server, await idpToken({ key: rsaKey('x5') })), 401);
  assert.equal(idp.fetches, 3, 'one refetch for an unknown kid once the cooldown is over');

  // The IdP goes down: tokens of cached keys still pass; an unknown kid cannot be checked, so 503 (fail closed).
  idp.down = true;
  t.mock.timers.tick(1000);
  assert.equal(await auditSearch(server, await idpToken({ key: second })), 200);
  const unknown = await httpsRequest(`${server.url}/api/v1/audit-events`, server.ca, {
    headers: { authorization: `Bearer ${await idpToken({ key: rsaKey('k3') })}` },
  });
  assert.equal(unknown.status, 503);
  assert.equal((JSON.parse(unknown.body) as { error: { code: string } }).error.code, 'SERVICE_UNAVAILABLE');
});

test('a jwks_uri on loopback is refused unless allow-listed: nothing is fetched, the token answers 503', async (t) => {
  const scope = await processScope(t, 'caduceus-idp-');
  const ca = createTestCa(scope.dir, 'IP:127.0.0.1');
  const idp = await startIdp(t, ca);
  const key = rsaKey('k1');
  idp.keys = [key];
  const server = await startCaduceus(scope, issuersFile(idp, ca, { allow_addresses: ['10.0.0.0/8'] }));
  assert.equal(await auditSearch(server, await idpToken({ key })), 503);
  assert.equal(idp.fetches, 0);
});

test('the external issuers file is validated strictly at start', async (t) => {
  const scope = await processScope(t, 'caduceus-idp-');
  const ca = createTestCa(scope.dir, 'IP:127.0.0.1');
  const idp: FakeIdp = { jwksUri: 'https://idp.hospital.test/certs', keys: [], down: false, fetches: 0 };
  const file = path.join(scope.dir, 'issuers.json');
  const refused = async (document: unknown, message: RegExp, env: Record<string, string> = {}): Promise<void> => {
    await writeFile(file, typeof document === 'string' ? document : JSON.stringify(document));
    assert.throws(
      () => loadConfig(caduceusEnv(scope.dir, { CADUCEUS_EXTERNAL_ISSUERS_FILE: file, ...env })),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
      String(message),
    );
  };
  const entry = (issuersFile(idp, ca) as { issuers: Record<string, unknown>[] }).issuers[0]!;
  await refused(
    { issuers: [{ ...entry, jwks_uri: 'http://idp.hospital.test/certs' }] },
    /jwks_uri must be an https:\/\/ URL/,
  );
  await refused({ issuers: [{ ...entry, issuer: 'http://idp.hospital.test' }] }, /issuer must be an https:\/\/ URL/);
  await refused({ issuers: [{ ...entry, jwks_uri: 'https://user:pw@idp.hospital.test/certs' }] }, /credentials/);
  await refused({ issuers: [{ ...entry, algorithms: ['HS256'] }] }, /algorithms must be/);
  await refused({ issuers: [{ ...entry, algorithms: [] }] }, /algorithms must be/);
  await refused({ issuers: [{ ...entry, accepted_typ: ['id+jwt'] }] }, /accepted_typ/);
  await refused({ issuers: [{ ...entry, roles: { staff: 'superuser' } }] }, /unknown Caduceus role/);
  await refused({ issuers: [{ ...entry, roles: {} }] }, /roles must map/);
  await refused({ issuers: [{ ...entry, role_claim: '' }] }, /role_claim/);
  await refused({ issuers: [{ ...entry, rejectUnauthorized: false }] }, /unknown field/);
  await refused({ issuers: [{ ...entry, allow_addresses: ['not-an-ip'] }] }, /allow_addresses/);
  await refused({ issuers: [{ ...entry, jwks_refresh_cooldown_seconds: 0 }] }, /cooldown/);
  await refused({ issuers: [entry, entry] }, /once/);
  await refused({ issuers: [] }, /must not be empty/);
  await refused({ issuers: [entry], extra: true }, /one field/);
  await refused('{not json', /readable JSON/);
  await refused({ issuers: [entry] }, /differ from CADUCEUS_ISSUER/, { CADUCEUS_ISSUER: issuer });
  await writeFile(
    file,
    JSON.stringify({ issuers: [{ ...entry, role_claim: ['https://hospital.test/roles'], scope_claim: 'scp' }] }),
  );
  const [only, ...rest] = loadConfig(caduceusEnv(scope.dir, { CADUCEUS_EXTERNAL_ISSUERS_FILE: file })).auth
    .externalIssuers;
  assert.equal(rest.length, 0);
  assert.ok(only !== undefined);
  assert.deepEqual(only.roleClaim, ['https://hospital.test/roles']);
  assert.equal(only.scopeClaim, 'scp');
  assert.equal(only.tokenIdClaim, 'jti');
  assert.equal(only.refreshCooldownSeconds, 1);
});
