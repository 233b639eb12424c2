/**
 * The device listener (src/edge/mtls/listener.ts, docs/tls.md): mutual TLS
 * on a port of its own, TLS 1.3 only, certificates of CADUCEUS_MTLS_CA only,
 * the same app behind it; and the main listener never asking for a
 * certificate (RFC 8705 §5 `mtls_endpoint_aliases`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { TlsSetupError } from '../../src/edge/tls.js';
import { startServer } from '../../src/server.js';
import {
  auditSnapshot,
  caduceusEnv,
  configFor,
  processScope,
  signToken,
  startInProcess,
  type ProcessScope,
} from '../helpers/process.js';
import { makeCa, makeClientCert, tlsRequest, type Pem } from './mtls-pki.js';

interface DevicePki {
  readonly deviceCa: Pem;
  readonly device: Pem;
  /** A client certificate from a CA the server does not trust. */
  readonly stranger: Pem;
  readonly caPath: string;
}

async function devicePki(scope: ProcessScope): Promise<DevicePki> {
  const deviceCa = await makeCa('Caduceus Test Device CA');
  const otherCa = await makeCa('Some Other CA');
  const caPath = path.join(scope.dir, 'device-ca.pem');
  await writeFile(caPath, deviceCa.cert);
  return {
    deviceCa,
    device: await makeClientCert(deviceCa, 'device-0001'),
    stranger: await makeClientCert(otherCa, 'device-0001'),
    caPath,
  };
}

async function startWithDevices(scope: ProcessScope, pki: DevicePki) {
  const server = await startInProcess(
    scope,
    caduceusEnv(scope.dir, { CADUCEUS_MTLS_PORT: '0', CADUCEUS_MTLS_CA: pki.caPath }),
  );
  assert.ok(server.mtlsUrl !== null, 'the device listener runs');
  return { server, mainPort: Number(new URL(server.url).port), mtlsPort: Number(new URL(server.mtlsUrl).port) };
}

test('the main listener never asks for a client certificate; the device listener serves the same app to a device', async (t) => {
  const scope = await processScope(t);
  const pki = await devicePki(scope);
  const { server, mainPort, mtlsPort } = await startWithDevices(scope, pki);
  assert.notEqual(mtlsPort, mainPort);
  // What the main listener saw of each client: a client that holds a certificate only sends it when asked (RFC 8446 §4.4.2).
  const seen: object[] = [];
  server.app.server.on('secureConnection', (socket: TLSSocket) => {
    seen.push(socket.getPeerCertificate());
  });

  const withoutCert = await tlsRequest({ port: mainPort, ca: server.ca });
  assert.equal(withoutCert.status, 200);
  assert.equal(withoutCert.protocol, 'TLSv1.3');
  const withCert = await tlsRequest({ port: mainPort, ca: server.ca, client: pki.device });
  assert.equal(withCert.status, 200);
  assert.equal(seen.length, 2);
  for (const peer of seen) assert.deepEqual(peer, {}, 'no CertificateRequest: the client sent no certificate');

  // Same routes and layers on the device listener: health, the bearer gate's 401, a real search with a token.
  const health = await tlsRequest({ port: mtlsPort, ca: server.ca, client: pki.device });
  assert.equal(health.status, 200);
  assert.equal(health.protocol, 'TLSv1.3');
  assert.equal(health.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  const anonymous = await tlsRequest({ port: mtlsPort, ca: server.ca, client: pki.device, path: '/api/v1/patients' });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
  const token = await signToken(server.config, 'clinician');
  const search = await tlsRequest({
    port: mtlsPort,
    ca: server.ca,
    client: pki.device,
    path: '/api/v1/patients',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(search.status, 200, search.body);
  assert.equal((JSON.parse(search.body) as { resourceType: string }).resourceType, 'Bundle');
});

test("the device listener refuses a client without a certificate, with another CA's certificate, or on TLS 1.2", async (t) => {
  const scope = await processScope(t);
  const pki = await devicePki(scope);
  const { server, mtlsPort } = await startWithDevices(scope, pki);
  const tlsAlert = /CERTIFICATE_REQUIRED|certificate required|UNKNOWN_CA|unknown ca|ECONNRESET|socket hang up|EPIPE/i;
  const refused = (error: Error & { code?: string }): boolean => {
    assert.match(`${error.code ?? ''} ${error.message}`, tlsAlert);
    return true;
  };
  await assert.rejects(tlsRequest({ port: mtlsPort, ca: server.ca }), refused);
  await assert.rejects(tlsRequest({ port: mtlsPort, ca: server.ca, client: pki.stranger }), refused);
  // A self-signed client certificate with the device CA's name is another CA's certificate too.
  await assert.rejects(
    tlsRequest({ port: mtlsPort, ca: server.ca, client: await makeCa('Caduceus Test Device CA') }),
    refused,
  );
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port: mtlsPort,
          servername: 'localhost',
          ca: server.ca,
          cert: pki.device.cert,
          key: pki.device.key,
          maxVersion: 'TLSv1.2',
        },
        () => {
          socket.end();
          resolve(socket.getProtocol());
        },
      );
      socket.on('error', reject);
    }),
    /PROTOCOL_VERSION|protocol version|UNSUPPORTED_PROTOCOL/i,
  );
  // The listener is still up for its devices.
  assert.equal((await tlsRequest({ port: mtlsPort, ca: server.ca, client: pki.device })).status, 200);

  // Refused handshakes are counted into the audit log like every early refusal.
  await server.stop();
  const counted = (await auditSnapshot(server.config)).rows
    .filter((row) => row.kind === 'event')
    .map(
      (row) => JSON.parse(row.payload) as { category: string; action: { details?: { rule?: string; count?: number } } },
    )
    .filter((event) => event.category === 'edge' && event.action.details?.rule === 'client_certificate');
  // Per source; a handshake the client reset is counted without its address (Node has already let go of the socket).
  const total = counted.reduce((sum, event) => sum + (event.action.details?.count ?? 0), 0);
  assert.ok(total >= 3, JSON.stringify(counted));
});

test('the device listener is off by default, and a CA bundle that is not a CA refuses to start', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  assert.equal(server.mtlsUrl, null);
  assert.equal(server.config.mtls, null);

  const pki = await devicePki(scope);
  const leafPath = path.join(scope.dir, 'leaf.pem');
  await writeFile(leafPath, pki.device.cert);
  const dir = path.join(scope.dir, 'second');
  await assert.rejects(
    startServer(configFor(caduceusEnv(dir, { CADUCEUS_MTLS_PORT: '0', CADUCEUS_MTLS_CA: leafPath }))),
    (error: Error) => {
      assert.ok(error instanceof TlsSetupError);
      assert.match(error.message, /not a CA/);
      assert.ok(!error.message.includes(leafPath), 'the message names the setting, not the path');
      return true;
    },
  );
  await writeFile(leafPath, 'not a certificate');
  await assert.rejects(
    startServer(configFor(caduceusEnv(dir, { CADUCEUS_MTLS_PORT: '0', CADUCEUS_MTLS_CA: leafPath }))),
    /holds no PEM certificate/,
  );
});

test('the device listener settings are validated, named and never echoed', () => {
  const base = { CADUCEUS_DATA_DIR: '/tmp/caduceus-mtls-config', CADUCEUS_PORT: '8443' };
  const config = loadConfig(
    { ...base, CADUCEUS_MTLS_PORT: '8444', CADUCEUS_MTLS_CA: 'devices/ca.pem' },
    '/srv/caduceus',
  );
  assert.deepEqual(config.mtls, {
    port: 8444,
    caPath: '/srv/caduceus/devices/ca.pem',
    publicUrl: 'https://localhost:8444',
  });
  assert.ok(Object.isFrozen(config.mtls));
  const published = loadConfig({
    ...base,
    CADUCEUS_MTLS_PORT: '8444',
    CADUCEUS_MTLS_CA: '/ca.pem',
    CADUCEUS_MTLS_URL: 'https://mtls.example.org/',
  });
  assert.equal(published.mtls?.publicUrl, 'https://mtls.example.org');
  for (const [env, setting] of [
    [{ CADUCEUS_MTLS_PORT: '8444' }, 'CADUCEUS_MTLS_CA'],
    [{ CADUCEUS_MTLS_CA: '/secret-ca-path.pem' }, 'CADUCEUS_MTLS_PORT'],
    [{ CADUCEUS_MTLS_URL: 'https://mtls.example.org' }, 'CADUCEUS_MTLS_PORT'],
    [{ CADUCEUS_MTLS_PORT: '8443', CADUCEUS_MTLS_CA: '/secret-ca-path.pem' }, 'CADUCEUS_MTLS_PORT'],
    [{ CADUCEUS_MTLS_PORT: '70000', CADUCEUS_MTLS_CA: '/secret-ca-path.pem' }, 'CADUCEUS_MTLS_PORT'],
    [{ CADUCEUS_MTLS_PORT: 'eight', CADUCEUS_MTLS_CA: '/secret-ca-path.pem' }, 'CADUCEUS_MTLS_PORT'],
    [
      {
        CADUCEUS_MTLS_PORT: '8444',
        CADUCEUS_MTLS_CA: '/secret-ca-path.pem',
        CADUCEUS_MTLS_URL: 'http://secret-host.example',
      },
      'CADUCEUS_MTLS_URL',
    ],
  ] as const) {
    assert.throws(
      () => loadConfig({ ...base, ...env }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(setting));
        assert.ok(!error.message.includes('secret'), error.message);
        return true;
      },
    );
  }
});
