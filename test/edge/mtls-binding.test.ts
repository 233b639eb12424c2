/**
 * Certificate-bound access tokens (RFC 8705 §3, src/auth/certificate-binding.ts):
 * a token with `cnf.x5t#S256` is accepted only over a connection whose
 * client certificate has that thumbprint; without a certificate (the main
 * listener) or with another one it is 401 invalid_token, audited.
 * Unbound tokens work on both listeners. The CLI binds with --cnf-cert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { thumbprintOfPem } from '../../src/lib/certificate-thumbprint.js';
import { issueAccessToken } from '../../src/auth/issue-token.js';
import type { Config } from '../../src/config/index.js';
import { openConfiguredKeys } from '../../src/keys/local/index.js';
import {
  auditSnapshot,
  caduceusEnv,
  processScope,
  runCliProcess,
  signToken,
  startInProcess,
} from '../helpers/process.js';
import { makeCa, makeClientCert, tlsRequest } from './mtls-pki.js';

interface AuditedRequest {
  readonly outcome: { readonly status: number };
  readonly action: { readonly details?: { readonly authFailure?: string } };
}

async function signBoundToken(config: Config, thumbprint: string): Promise<string> {
  const { keys } = await openConfiguredKeys(config, pino({ level: 'silent' }));
  try {
    const issued = await issueAccessToken(keys, {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      subject: 'device-0001',
      clientId: 'test-device',
      role: 'clinician',
      scopes: ['user/*.cruds'],
      ttlSeconds: 600,
      certificateThumbprint: thumbprint,
    });
    return issued.token;
  } finally {
    await keys.close();
  }
}

test('a certificate-bound token works only with its certificate; unbound tokens work everywhere; refusals are audited', async (t) => {
  const scope = await processScope(t);
  const deviceCa = await makeCa('Caduceus Test Device CA');
  const caPath = path.join(scope.dir, 'device-ca.pem');
  await writeFile(caPath, deviceCa.cert);
  const device = await makeClientCert(deviceCa, 'device-0001');
  const sibling = await makeClientCert(deviceCa, 'device-0002');
  const env = caduceusEnv(scope.dir, { CADUCEUS_MTLS_PORT: '0', CADUCEUS_MTLS_CA: caPath });
  const server = await startInProcess(scope, env);
  const mainPort = Number(new URL(server.url).port);
  const mtlsPort = Number(new URL(server.mtlsUrl ?? '').port);

  // RFC 8705 §3.1: base64url SHA-256 of the DER certificate.
  const thumbprint = thumbprintOfPem(device.cert);
  assert.equal(thumbprint, hash('sha256', new X509Certificate(device.cert).raw, 'base64url'));
  const bound = await signBoundToken(server.config, thumbprint);
  const get = (port: number, token: string, client = device) =>
    tlsRequest({
      port,
      ca: server.ca,
      client,
      path: '/api/v1/patients',
      headers: { authorization: `Bearer ${token}` },
    });

  assert.equal((await get(mtlsPort, bound)).status, 200, 'its own certificate');
  const otherCert = await get(mtlsPort, bound, sibling);
  assert.equal(otherCert.status, 401, 'a sibling device of the same CA');
  assert.equal(otherCert.headers['www-authenticate'], 'Bearer error="invalid_token"');
  assert.equal((JSON.parse(otherCert.body) as { error: { code: string } }).error.code, 'AUTH_ERROR');
  const mainListener = await tlsRequest({
    port: mainPort,
    ca: server.ca,
    client: device,
    path: '/api/v1/patients',
    headers: { authorization: `Bearer ${bound}` },
  });
  assert.equal(mainListener.status, 401, 'no certificate on the main listener, even from a client that holds it');
  assert.equal(mainListener.headers['www-authenticate'], 'Bearer error="invalid_token"');
  assert.ok(
    !otherCert.body.includes(thumbprint) && !mainListener.body.includes(thumbprint),
    'the thumbprint is not echoed',
  );

  const unbound = await signToken(server.config, 'clinician');
  assert.equal((await get(mtlsPort, unbound)).status, 200, 'unbound on the device listener');
  assert.equal(
    (
      await tlsRequest({
        port: mainPort,
        ca: server.ca,
        path: '/api/v1/patients',
        headers: { authorization: `Bearer ${unbound}` },
      })
    ).status,
    200,
    'unbound on the main listener',
  );

  await server.stop();
  const events = (await auditSnapshot(server.config)).rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as AuditedRequest);
  const failures = events
    .filter((event) => event.outcome.status === 401)
    .map((event) => event.action.details?.authFailure);
  assert.deepEqual(failures.sort(), ['certificate_mismatch', 'certificate_required']);
});

test('caduceus token issue --cnf-cert binds a bootstrap token to a device certificate', async (t) => {
  const scope = await processScope(t);
  const deviceCa = await makeCa('Caduceus Test Device CA');
  const caPath = path.join(scope.dir, 'device-ca.pem');
  await writeFile(caPath, deviceCa.cert);
  const device = await makeClientCert(deviceCa, 'device-0001');
  const devicePath = path.join(scope.dir, 'device.pem');
  await writeFile(devicePath, device.cert);
  const env = caduceusEnv(scope.dir, { CADUCEUS_MTLS_PORT: '0', CADUCEUS_MTLS_CA: caPath });
  const server = await startInProcess(scope, env);
  const mtlsPort = Number(new URL(server.mtlsUrl ?? '').port);

  const run = await runCliProcess(scope, env, [
    'token',
    'issue',
    '--role',
    'clinician',
    '--cnf-cert',
    devicePath,
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const issued = JSON.parse(run.stdout) as { access_token: string; cnf: { 'x5t#S256': string } };
  assert.equal(issued.cnf['x5t#S256'], thumbprintOfPem(device.cert));
  const claims = JSON.parse(Buffer.from(issued.access_token.split('.')[1] ?? '', 'base64url').toString()) as {
    cnf?: Record<string, string>;
  };
  assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprintOfPem(device.cert) });

  const headers = { authorization: `Bearer ${issued.access_token}` };
  assert.equal(
    (await tlsRequest({ port: mtlsPort, ca: server.ca, client: device, path: '/api/v1/patients', headers })).status,
    200,
  );
  const other = await makeClientCert(deviceCa, 'device-0002');
  assert.equal(
    (await tlsRequest({ port: mtlsPort, ca: server.ca, client: other, path: '/api/v1/patients', headers })).status,
    401,
  );

  // A file that is not a certificate is a usage error that names neither the file nor its content.
  const keyPath = path.join(scope.dir, 'device-key.pem');
  await writeFile(keyPath, device.key);
  for (const file of [keyPath, path.join(scope.dir, 'missing.pem')]) {
    const refused = await runCliProcess(scope, env, ['token', 'issue', '--role', 'clinician', '--cnf-cert', file]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /--cnf-cert must name a readable PEM certificate/);
    assert.ok(!refused.stderr.includes(file) && !refused.stderr.includes('PRIVATE KEY'));
  }
});
