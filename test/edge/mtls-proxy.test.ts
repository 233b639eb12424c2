/**
 * Behind a TLS-terminating proxy (src/edge/mtls/client-certificate.ts,
 * docs/tls.md): the client certificate comes from the RFC 9440 `Client-Cert`
 * header only when the connection is from CADUCEUS_TRUSTED_PROXIES; from
 * anyone else the header is ignored and reported as a security event.
 * Servers run as child processes so their security-event log lines can be read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { thumbprintOfPem } from '../../src/lib/certificate-thumbprint.js';
import { issueAccessToken } from '../../src/auth/issue-token.js';
import type { Config } from '../../src/config/index.js';
import { formatClientCertHeader, parseClientCertHeader } from '../../src/edge/mtls/client-cert-header.js';
import { openConfiguredKeys } from '../../src/keys/local/index.js';
import { caduceusEnv, parseJsonLine, processScope, spawnServer, type ServerProcess } from '../helpers/process.js';
import { makeCa, makeClientCert, tlsRequest, type Pem } from './mtls-pki.js';

async function signBoundToken(config: Config, certificate: Pem): Promise<string> {
  const { keys } = await openConfiguredKeys(config, pino({ level: 'silent' }));
  try {
    return (
      await issueAccessToken(keys, {
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        subject: 'device-0001',
        clientId: 'test-device',
        role: 'clinician',
        scopes: ['user/*.cruds'],
        ttlSeconds: 600,
        certificateThumbprint: thumbprintOfPem(certificate.cert),
      })
    ).token;
  } finally {
    await keys.close();
  }
}

/** GET /api/v1/patients on the main listener with the bound token and an optional Client-Cert value. */
async function getWith(server: ServerProcess, token: string, clientCert?: string): Promise<number> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    ...(clientCert !== undefined && { 'client-cert': clientCert }),
  };
  return (
    await tlsRequest({ port: Number(new URL(server.url).port), ca: server.ca, path: '/api/v1/patients', headers })
  ).status;
}

/** The `edge.client_cert_ignored` security events the server logged: stopped first, since request-time lines are buffered until exit. */
async function ignoredHeaderEvents(server: ServerProcess): Promise<Record<string, unknown>[]> {
  server.child.kill('SIGTERM');
  assert.equal((await server.exited).code, 0, server.stderr());
  return server.stdout
    .map(parseJsonLine)
    .filter((line) => line?.event === 'security' && line.kind === 'edge.client_cert_ignored') as Record<
    string,
    unknown
  >[];
}

test('from a trusted proxy, Client-Cert is the client certificate: the bound token needs the right one', async (t) => {
  const scope = await processScope(t);
  const ca = await makeCa('Caduceus Test Device CA');
  const device = await makeClientCert(ca, 'device-0001');
  const sibling = await makeClientCert(ca, 'device-0002');
  const server = await spawnServer(
    scope,
    caduceusEnv(scope.dir, { CADUCEUS_TRUSTED_PROXIES: '127.0.0.1', CADUCEUS_LOG_LEVEL: 'info' }),
  );
  const token = await signBoundToken(server.config, device);

  assert.equal(await getWith(server, token, formatClientCertHeader(device.cert)), 200);
  // RFC 8941 parameters after the byte sequence are ignored; surrounding spaces too.
  assert.equal(await getWith(server, token, ` ${formatClientCertHeader(device.cert)};x=1 `), 200);
  assert.equal(await getWith(server, token, formatClientCertHeader(sibling.cert)), 401, 'another certificate');
  assert.equal(await getWith(server, token), 401, 'no certificate at all');
  const der = new X509Der(device.cert);
  for (const malformed of [
    der.base64,
    `:${der.base64}`,
    `:${der.base64}::`,
    `:${der.base64.slice(4)}:`,
    `:${Buffer.concat([der.raw, Buffer.from([0])]).toString('base64')}:`,
    `${formatClientCertHeader(device.cert)}, ${formatClientCertHeader(device.cert)}`,
  ]) {
    assert.equal(await getWith(server, token, malformed), 401, `malformed: ${malformed.slice(0, 12)}`);
  }
  const events = await ignoredHeaderEvents(server);
  assert.equal(events.length, 6);
  for (const event of events) assert.deepEqual(event.details, { reason: 'malformed' });
  assert.ok(!server.stdout.some((line) => line.includes(der.base64.slice(0, 40))), 'no certificate bytes in the log');
});

test('from anyone else, Client-Cert is ignored and reported: the bound token is refused even with the right certificate in it', async (t) => {
  const scope = await processScope(t);
  const ca = await makeCa('Caduceus Test Device CA');
  const device = await makeClientCert(ca, 'device-0001');
  // A proxy is configured, but it is not us.
  const server = await spawnServer(
    scope,
    caduceusEnv(scope.dir, { CADUCEUS_TRUSTED_PROXIES: '192.0.2.10', CADUCEUS_LOG_LEVEL: 'info' }),
  );
  const token = await signBoundToken(server.config, device);
  assert.equal(await getWith(server, token, formatClientCertHeader(device.cert)), 401);
  // The header is also ignored on public routes: every sender of it is reported.
  const health = await tlsRequest({
    port: Number(new URL(server.url).port),
    ca: server.ca,
    headers: { 'client-cert': formatClientCertHeader(device.cert) },
  });
  assert.equal(health.status, 200);
  const events = await ignoredHeaderEvents(server);
  assert.equal(events.length, 2);
  for (const event of events) {
    assert.deepEqual(event.details, { reason: 'untrusted_peer' });
    assert.equal(event.sourceIp, '127.0.0.1');
  }
});

test('the Client-Cert parser takes exactly one byte sequence holding one certificate', async () => {
  const ca = await makeCa('Caduceus Test Device CA');
  const raw = new X509Der(ca.cert).raw;
  assert.deepEqual(parseClientCertHeader(formatClientCertHeader(ca.cert)), raw);
  for (const bad of [
    undefined,
    [formatClientCertHeader(ca.cert)],
    '',
    '::',
    ':AAAA:',
    ':not base64!:',
    `:${'A'.repeat(20_000)}:`,
  ]) {
    assert.equal(parseClientCertHeader(bad), null);
  }
});

/** A certificate's DER and its base64. */
class X509Der {
  readonly raw: Buffer;
  readonly base64: string;
  constructor(pem: string) {
    this.base64 = formatClientCertHeader(pem).slice(1, -1);
    this.raw = Buffer.from(this.base64, 'base64');
  }
}
