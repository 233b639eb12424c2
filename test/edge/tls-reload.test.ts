/**
 * Certificate and key reload without a restart (src/edge/tls-reload.ts,
 * docs/tls.md): replaced files reach every listener's new connections while
 * open connections keep working; a pair that fails a check changes nothing
 * and is logged and reported; SIGHUP reloads too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import path from 'node:path';
import { Writable } from 'node:stream';
import { connect, createServer, type Server } from 'node:tls';
import { pino } from 'pino';
import { createTlsReloader } from '../../src/edge/tls-reload.js';
import { createSecurityEvents, type SecurityEvent } from '../../src/lib/security-events.js';
import {
  caduceusEnv,
  parseJsonLine,
  processScope,
  spawnServer,
  startInProcess,
  type ProcessScope,
} from '../helpers/process.js';
import {
  fingerprintOf,
  makeCa,
  makeClientCert,
  makeServerPair,
  replaceFile,
  tlsRequest,
  type Pem,
} from './mtls-pki.js';

/** The fingerprint of the certificate a fresh TLS 1.3 connection to `port` gets (no certificate check: the test compares fingerprints). */
function freshFingerprint(port: number, options: { client?: Pem; maxVersion?: 'TLSv1.2' } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ...(options.client !== undefined && { cert: options.client.cert, key: options.client.key }),
        ...(options.maxVersion && { maxVersion: options.maxVersion }),
      },
      () => {
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        socket.end();
        resolve(fingerprint);
      },
    );
    socket.on('error', reject);
  });
}

/** Polls new connections until they see `expected` (the watcher is debounced), or fails after `timeoutMs`. */
async function waitForFingerprint(port: number, expected: string, timeoutMs = 8_000, client?: Pem): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await freshFingerprint(port, client === undefined ? {} : { client });
    if (seen === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`new connections still see ${seen}, not ${expected}`);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tlsFolder(scope: ProcessScope, pair: Pem): Promise<{ certPath: string; keyPath: string }> {
  const folder = path.join(scope.dir, 'tls');
  await mkdir(folder, { recursive: true });
  const certPath = path.join(folder, 'server.crt');
  const keyPath = path.join(folder, 'server.key');
  await writeFile(certPath, pair.cert);
  await writeFile(keyPath, pair.key, { mode: 0o600 });
  return { certPath, keyPath };
}

test('replaced files reach new connections on both listeners; an open connection keeps working; TLS 1.3 only still', async (t) => {
  const scope = await processScope(t);
  const [first, second] = [await makeServerPair('first'), await makeServerPair('second')];
  const { certPath, keyPath } = await tlsFolder(scope, first);
  const deviceCa = await makeCa('Caduceus Test Device CA');
  const device = await makeClientCert(deviceCa, 'device-0001');
  const caPath = path.join(scope.dir, 'device-ca.pem');
  await writeFile(caPath, deviceCa.cert);
  const server = await startInProcess(
    scope,
    caduceusEnv(scope.dir, {
      CADUCEUS_TLS_CERT: certPath,
      CADUCEUS_TLS_KEY: keyPath,
      CADUCEUS_MTLS_PORT: '0',
      CADUCEUS_MTLS_CA: caPath,
    }),
  );
  const port = Number(new URL(server.url).port);
  const mtlsPort = Number(new URL(server.mtlsUrl ?? '').port);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => {
    agent.destroy();
  });
  const ca = [first.cert, second.cert];

  const before = await tlsRequest({ port, ca, agent });
  assert.equal(before.status, 200);
  assert.equal(before.serverFingerprint, fingerprintOf(first.cert));
  assert.equal(await freshFingerprint(mtlsPort, { client: device }), fingerprintOf(first.cert));

  // Key first, then certificate, as a renewal script might: the debounce reads them together.
  await replaceFile(keyPath, second.key);
  await replaceFile(certPath, second.cert);
  await waitForFingerprint(port, fingerprintOf(second.cert));
  await waitForFingerprint(mtlsPort, fingerprintOf(second.cert), 2_000, device);

  const after = await tlsRequest({ port, ca, agent });
  assert.equal(after.status, 200);
  assert.equal(after.reusedSocket, true, 'the open connection was not dropped');
  assert.equal(after.serverFingerprint, fingerprintOf(first.cert), 'it keeps the certificate it was made with');
  // The new context kept each listener's own rules: TLS 1.3 only, and the device listener's client-certificate requirement.
  await assert.rejects(
    freshFingerprint(port, { maxVersion: 'TLSv1.2' }),
    /PROTOCOL_VERSION|protocol version|UNSUPPORTED_PROTOCOL/i,
  );
  await assert.rejects(
    tlsRequest({ port: mtlsPort, ca }),
    /CERTIFICATE_REQUIRED|certificate required|ECONNRESET|socket hang up/i,
  );
  assert.equal(
    (await tlsRequest({ port: mtlsPort, ca, client: device })).serverFingerprint,
    fingerprintOf(second.cert),
  );
});

test('a broken pair keeps the old one, logged and reported without the path; SIGHUP reloads; a good pair then applies', async (t) => {
  const scope = await processScope(t);
  const first = await makeServerPair('first');
  const { certPath, keyPath } = await tlsFolder(scope, first);
  const server = await spawnServer(
    scope,
    caduceusEnv(scope.dir, { CADUCEUS_TLS_CERT: certPath, CADUCEUS_TLS_KEY: keyPath, CADUCEUS_LOG_LEVEL: 'info' }),
  );
  const port = Number(new URL(server.url).port);
  const settle = 1_500; // the 500 ms debounce, and margin

  await replaceFile(certPath, (await makeServerPair('mismatched')).cert); // the old key does not match
  await pause(settle);
  assert.equal(await freshFingerprint(port), fingerprintOf(first.cert));
  const expired = await makeServerPair('expired', { from: Date.now() - 3 * 86_400_000, to: Date.now() - 86_400_000 });
  await replaceFile(keyPath, expired.key);
  await replaceFile(certPath, expired.cert);
  await pause(settle);
  assert.equal(await freshFingerprint(port), fingerprintOf(first.cert));
  await replaceFile(certPath, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  await pause(settle);
  assert.equal(await freshFingerprint(port), fingerprintOf(first.cert));
  server.child.kill('SIGHUP');
  await pause(500);
  assert.equal(server.child.exitCode, null, 'SIGHUP does not end the server');
  assert.equal(await freshFingerprint(port), fingerprintOf(first.cert));

  const next = await makeServerPair('next');
  await replaceFile(keyPath, next.key);
  await replaceFile(certPath, next.cert);
  await waitForFingerprint(port, fingerprintOf(next.cert));

  server.child.kill('SIGTERM');
  assert.equal((await server.exited).code, 0, server.stderr());
  const lines = server.stdout.map(parseJsonLine);
  const failures = lines
    .filter((line) => line?.event === 'tls.reload_failed')
    .map((line) => `${String(line?.trigger)}:${String(line?.reason)}`);
  for (const expected of [
    'file_change:key_mismatch',
    'file_change:expired',
    'file_change:bad_certificate',
    'sighup:bad_certificate',
  ]) {
    assert.ok(failures.includes(expected), `${expected} in ${failures.join(', ')}`);
  }
  const reported = lines.filter((line) => line?.event === 'security' && line.kind === 'tls.reload_failed');
  assert.equal(reported.length, failures.length, 'every refused pair is a security event too');
  const reloaded = lines.filter((line) => line?.event === 'tls.reloaded');
  assert.deepEqual(
    reloaded.map((line) => line?.fingerprint256),
    [fingerprintOf(next.cert)],
    'only the good pair was applied',
  );
  // (The start-up hint names the certificate for curl; the reload lines name nothing.)
  const reloadLines = server.stdout.filter((line) => /"event":"(tls\.|security)/.test(line));
  assert.ok(reloadLines.length >= 5);
  assert.ok(
    !reloadLines.some((line) => line.includes(scope.dir) || line.includes('PRIVATE KEY')),
    'no path or key material in the reload lines',
  );
  assert.ok(!server.stdout.some((line) => line.includes('PRIVATE KEY')));
});

/** A TLS 1.3 server of our own on `pair`, closed after the test. */
async function plainServer(
  t: { after: (fn: () => unknown) => void },
  pair: Pem,
): Promise<{ server: Server; port: number }> {
  const server = createServer({ key: pair.key, cert: pair.cert, minVersion: 'TLSv1.3' }, (socket) => {
    socket.end();
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  t.after(
    () =>
      new Promise((resolve) => {
        server.close(resolve);
      }),
  );
  return { server, port: (server.address() as { port: number }).port };
}

test('the reloader answers failed, unchanged or reloaded, and SIGHUP alone (no file event) reloads', async (t) => {
  const scope = await processScope(t);
  const first = await makeServerPair('first');
  const { certPath, keyPath } = await tlsFolder(scope, first);
  const { server, port } = await plainServer(t, first);
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const events = createSecurityEvents(logger);
  const seen: SecurityEvent[] = [];
  events.subscribe((event) => {
    seen.push(event);
  });
  // A debounce longer than the test: only reload() and SIGHUP act.
  const reloader = createTlsReloader({
    certPath,
    keyPath,
    initial: { key: Buffer.from(first.key), cert: Buffer.from(first.cert) },
    targets: [{ server }],
    logger,
    events,
    debounceMs: 600_000,
  });
  t.after(() => {
    reloader.close();
  });

  assert.equal(await reloader.reload(), 'unchanged');
  const second = await makeServerPair('second');
  await writeFile(keyPath, second.key);
  assert.equal(await reloader.reload(), 'failed', 'new key, old certificate');
  assert.deepEqual(
    seen.map((event) => [event.kind, event.details.reason]),
    [['tls.reload_failed', 'key_mismatch']],
  );
  assert.equal(await freshFingerprint(port), fingerprintOf(first.cert));
  await writeFile(keyPath, 'garbage');
  assert.equal(await reloader.reload(), 'failed');
  assert.equal(seen.at(-1)?.details.reason, 'bad_key');

  await writeFile(keyPath, second.key);
  await writeFile(certPath, second.cert);
  process.kill(process.pid, 'SIGHUP');
  await waitForFingerprint(port, fingerprintOf(second.cert), 3_000);
  assert.equal(await reloader.reload(), 'unchanged');
  await assert.rejects(
    freshFingerprint(port, { maxVersion: 'TLSv1.2' }),
    /PROTOCOL_VERSION|protocol version|UNSUPPORTED_PROTOCOL/i,
  );
  const reloadedLine = lines.map(parseJsonLine).find((line) => line?.event === 'tls.reloaded');
  assert.equal(reloadedLine?.trigger, 'sighup');
  assert.ok(!lines.some((line) => line.includes(scope.dir)), 'no path in the log');
});

test('in production a reload refuses the generated development certificate, as the start does', async (t) => {
  const scope = await processScope(t);
  const first = await makeServerPair('Example Hospital');
  const { certPath, keyPath } = await tlsFolder(scope, first);
  const { server, port } = await plainServer(t, first);
  const events = createSecurityEvents(pino({ level: 'silent' }));
  const seen: SecurityEvent[] = [];
  events.subscribe((event) => {
    seen.push(event);
  });
  const initial = { key: Buffer.from(first.key), cert: Buffer.from(first.cert) };
  const reloader = createTlsReloader({
    certPath,
    keyPath,
    initial,
    targets: [{ server }],
    logger: pino({ level: 'silent' }),
    events,
    production: true,
    debounceMs: 600_000,
  });
  t.after(() => {
    reloader.close();
  });

  const development = await makeServerPair('Caduceus Development (not for production)');
  await writeFile(keyPath, development.key);
  await writeFile(certPath, development.cert);
  assert.equal(await reloader.reload(), 'failed');
  assert.equal(seen.at(-1)?.details.reason, 'development_certificate');
  assert.equal(await freshFingerprint(port), fingerprintOf(first.cert));
  const renewed = await makeServerPair('Example Hospital');
  await writeFile(keyPath, renewed.key);
  await writeFile(certPath, renewed.cert);
  assert.equal(await reloader.reload(), 'reloaded');
  assert.equal(await freshFingerprint(port), fingerprintOf(renewed.cert));
});
