/**
 * The real HTTPS listener (src/server.ts, src/edge/tls.ts): TLS 1.3 only
 * (seed: "Enforce TLS 1.3 for all API communications"), a development
 * certificate generated once and reused, and production mode refusing to
 * start without a real certificate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { connect, type PeerCertificate, type SecureVersion } from 'node:tls';
import { TlsSetupError } from '../../src/edge/tls.js';
import { startServer } from '../../src/server.js';
import { caduceusEnv, configFor, processScope, startInProcess } from '../helpers/process.js';

interface Handshake {
  readonly protocol: string | null;
  readonly peer: PeerCertificate;
}

/** Connects to 127.0.0.1 trusting only `ca`; resolves after the handshake, rejects on any TLS error. */
function handshake(url: string, ca: Buffer, maxVersion?: SecureVersion): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port: Number(new URL(url).port),
        ca,
        servername: 'localhost',
        ...(maxVersion && { maxVersion }),
      },
      () => {
        const result = { protocol: socket.getProtocol(), peer: socket.getPeerCertificate() };
        socket.end();
        resolve(result);
      },
    );
    socket.on('error', (error: Error) => {
      reject(error);
    });
  });
}

test('the listener negotiates TLS 1.3 and presents the development certificate', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  const { protocol, peer } = await handshake(server.url, server.ca);
  assert.equal(protocol, 'TLSv1.3');
  assert.equal(peer.fingerprint256, new X509Certificate(server.ca).fingerprint256);
  assert.equal(peer.subject.CN, 'localhost');
});

test('a client limited to TLS 1.2 cannot connect', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  await assert.rejects(handshake(server.url, server.ca, 'TLSv1.2'), (error: Error & { code?: string }) => {
    // The server alerts protocol_version (RFC 8446 §6.2); OpenSSL names it in the code.
    assert.match(`${error.code ?? ''} ${error.message}`, /PROTOCOL_VERSION|protocol version|UNSUPPORTED_PROTOCOL/i);
    return true;
  });
  // The same listener still serves a TLS 1.3 client: the refusal was the version, not the server.
  assert.equal((await handshake(server.url, server.ca)).protocol, 'TLSv1.3');
});

test('the development certificate is generated on first start (key 0600) and reused on the second', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  const config = configFor(env);
  await assert.rejects(access(config.tls.certPath), { code: 'ENOENT' });

  const first = await startInProcess(scope, env);
  assert.equal(config.tls.certPath, path.join(scope.dir, 'dev-cert.pem'));
  const keyMode = (await stat(config.tls.keyPath)).mode & 0o777;
  assert.equal(keyMode, 0o600, `key file mode ${keyMode.toString(8)}`);
  // The database beside it holds sealed PHI and the audit log: owner-only too, with its WAL.
  for (const file of [config.databaseUrl, `${config.databaseUrl}-wal`])
    assert.equal((await stat(file)).mode & 0o777, 0o600, file);
  const firstPem = await readFile(config.tls.certPath);
  const firstFingerprint = new X509Certificate(firstPem).fingerprint256;
  assert.equal((await handshake(first.url, first.ca)).peer.fingerprint256, firstFingerprint);
  await first.stop();

  const second = await startInProcess(scope, env);
  assert.deepEqual(await readFile(config.tls.certPath), firstPem, 'the certificate file was rewritten');
  assert.equal((await handshake(second.url, second.ca)).peer.fingerprint256, firstFingerprint);
  assert.equal((await stat(config.tls.keyPath)).mode & 0o777, 0o600);
});

test('production mode without CADUCEUS_TLS_CERT refuses to start and opens nothing', async (t) => {
  const scope = await processScope(t);
  const config = configFor(caduceusEnv(scope.dir, { CADUCEUS_ENV: 'production' }));
  await assert.rejects(startServer(config), (error: Error) => {
    assert.ok(error instanceof TlsSetupError, `${error.name}: ${error.message}`);
    assert.match(error.message, /CADUCEUS_TLS_CERT/);
    assert.ok(!error.message.includes(scope.dir), 'the message names a file path');
    return true;
  });
  // Refused before anything was generated or opened.
  await assert.rejects(access(config.tls.certPath), { code: 'ENOENT' });
  await assert.rejects(access(config.databaseUrl), { code: 'ENOENT' });
});

test('production mode pointing CADUCEUS_TLS_CERT/KEY at a generated development pair refuses to start', async (t) => {
  const scope = await processScope(t);
  const development = await startInProcess(scope, caduceusEnv(path.join(scope.dir, 'dev')));
  await development.stop();
  const production = configFor(
    caduceusEnv(path.join(scope.dir, 'prod'), {
      CADUCEUS_ENV: 'production',
      CADUCEUS_TLS_CERT: development.config.tls.certPath,
      CADUCEUS_TLS_KEY: development.config.tls.keyPath,
    }),
  );
  assert.equal(production.tls.generated, false);
  await assert.rejects(startServer(production), (error: Error) => {
    assert.ok(error instanceof TlsSetupError, `${error.name}: ${error.message}`);
    assert.match(error.message, /development certificate/);
    assert.ok(!error.message.includes(scope.dir), 'the message names a file path');
    return true;
  });
  await assert.rejects(access(production.databaseUrl), { code: 'ENOENT' });
});
