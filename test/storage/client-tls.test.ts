/**
 * TLS to PostgreSQL and Redis (docs/database-tls.md): the settings, the
 * options handed to the drivers, and real connections to a private
 * redis-server on a TLS port with a test CA.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { postgresTlsOptions } from '../../src/storage/client-tls.js';
import { openDatabase } from '../../src/storage/open.js';
import { openRedis } from '../../src/storage/redis/connection.js';
import { testPostgresBaseUrl } from '../helpers/database.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const silent = pino({ level: 'silent' });

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function refused(env: Record<string, string>, setting: RegExp): void {
  assert.throws(
    () => loadConfig({ CADUCEUS_DATA_DIR: '/tmp/caduceus-unused', ...env }),
    (error: unknown) => error instanceof ConfigError && setting.test(error.message),
  );
}

test('database and Redis TLS settings: bad combinations are refused at start', async (t) => {
  const dir = await folder(t);
  const ca = createTestCa(dir, 'IP:127.0.0.1');
  const notPem = path.join(dir, 'not.pem');
  await writeFile(notPem, 'hello');
  const pg = 'postgres://db.example:5432/caduceus';
  refused(
    { CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_SSLMODE: 'require' },
    /CADUCEUS_DATABASE_SSLMODE must be one of/,
  );
  refused({ CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_SSLMODE: 'no-verify' }, /CADUCEUS_DATABASE_SSLMODE/);
  refused({ CADUCEUS_DATABASE_URL: `${pg}?sslmode=no-verify` }, /must not carry ssl parameters/);
  refused({ CADUCEUS_DATABASE_URL: `${pg}?ssl=true&sslrootcert=${ca.caFile}` }, /must not carry ssl parameters/);
  refused({ CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_CA_FILE: notPem }, /CADUCEUS_DATABASE_CA_FILE must be a PEM/);
  refused(
    { CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_CA_FILE: path.join(dir, 'missing.pem') },
    /CADUCEUS_DATABASE_CA_FILE cannot be read/,
  );
  refused({ CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_CERT_FILE: ca.certFile }, /set together/);
  refused(
    { CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_SSLMODE: 'disable', CADUCEUS_DATABASE_CA_FILE: ca.caFile },
    /contradicts/,
  );
  refused({ CADUCEUS_DATABASE_SSLMODE: 'verify-full' }, /postgres:\/\/ URL only/);
  refused({ CADUCEUS_REDIS_URL: 'redis://127.0.0.1:6379', CADUCEUS_REDIS_CA_FILE: ca.caFile }, /need a rediss:\/\//);
  refused({ CADUCEUS_REDIS_URL: 'rediss://127.0.0.1:6379?rejectUnauthorized=false' }, /must not carry TLS parameters/);
  refused({ CADUCEUS_REDIS_URL: 'rediss://127.0.0.1:6379?tls=x' }, /must not carry TLS parameters/);
  refused({ CADUCEUS_REDIS_URL: 'rediss://127.0.0.1:6379', CADUCEUS_REDIS_KEY_FILE: ca.keyFile }, /set together/);
});

test('database TLS: verify-full by default once asked for, verify-ca keeps the chain check, never rejectUnauthorized false', async (t) => {
  const dir = await folder(t);
  const ca = createTestCa(dir, 'IP:127.0.0.1');
  const pg = 'postgres://db.example:5432/caduceus';
  assert.equal(loadConfig({ CADUCEUS_DATABASE_URL: pg }).databaseTls, null);
  const full = loadConfig({ CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_CA_FILE: ca.caFile }).databaseTls;
  assert.ok(full !== null);
  assert.equal(full.mode, 'verify-full');
  const fullOptions = postgresTlsOptions(full);
  assert.equal(fullOptions.rejectUnauthorized, true);
  assert.equal(fullOptions.checkServerIdentity, undefined);
  assert.equal(String(fullOptions.ca), ca.caPem);
  const systemCas = loadConfig({ CADUCEUS_DATABASE_URL: pg, CADUCEUS_DATABASE_SSLMODE: 'verify-full' }).databaseTls;
  assert.ok(systemCas !== null && systemCas.caFile === null);
  assert.equal(postgresTlsOptions(systemCas).ca, undefined);
  const chainOnly = loadConfig({
    CADUCEUS_DATABASE_URL: pg,
    CADUCEUS_DATABASE_SSLMODE: 'verify-ca',
    CADUCEUS_DATABASE_CA_FILE: ca.caFile,
  }).databaseTls;
  assert.ok(chainOnly !== null);
  const chainOptions = postgresTlsOptions(chainOnly);
  assert.equal(chainOptions.rejectUnauthorized, true);
  assert.equal(typeof chainOptions.checkServerIdentity, 'function');
  const redis = loadConfig({ CADUCEUS_REDIS_URL: 'rediss://redis.example:6380', CADUCEUS_REDIS_CA_FILE: ca.caFile });
  assert.deepEqual(redis.redisTls, { caFile: ca.caFile, certFile: null, keyFile: null });
  assert.equal(loadConfig({ CADUCEUS_REDIS_URL: 'redis://127.0.0.1:6379' }).redisTls, null);
});

test('PostgreSQL TLS asked for against a server without TLS fails to connect instead of falling back to plain text', async () => {
  const base = new URL(testPostgresBaseUrl());
  // The local test server runs with ssl=off: a verified connection is impossible, and must not silently downgrade.
  const plain = await openDatabase(base.toString());
  try {
    await plain.ping();
  } finally {
    await plain.close();
  }
  const tls = await openDatabase(base.toString(), {
    postgresTls: { mode: 'verify-full', caFile: null, certFile: null, keyFile: null },
  });
  try {
    await assert.rejects(tls.ping());
  } finally {
    await tls.close();
  }
});

interface TlsRedis {
  readonly port: number;
}

async function startTlsRedis(t: TestContext, ca: TestCa, clientCertificates = false): Promise<TlsRedis> {
  const port = await freeLoopbackPort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-cert-file',
      ca.certFile,
      '--tls-key-file',
      ca.keyFile,
      '--tls-ca-cert-file',
      ca.caFile,
      '--tls-auth-clients',
      clientCertificates ? 'yes' : 'no',
    ],
    { stdio: 'ignore' },
  );
  t.after(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const probe = await openRedis(`rediss://127.0.0.1:${port}`, silent, {
      tls: { caFile: ca.caFile, certFile: ca.certFile, keyFile: ca.keyFile },
    });
    const answered = await probe.ping().then(
      () => true,
      () => false,
    );
    probe.disconnect();
    if (answered) return { port };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('TLS redis-server did not start');
}

test('Redis over TLS: the test CA verifies, an unknown CA or a wrong host name is refused', async (t) => {
  const dir = await folder(t);
  const ca = createTestCa(dir, 'IP:127.0.0.1');
  const { port } = await startTlsRedis(t, ca);
  const files = { caFile: ca.caFile, certFile: null, keyFile: null };

  const verified = await openRedis(`rediss://127.0.0.1:${port}`, silent, { tls: files });
  t.after(() => {
    verified.disconnect();
  });
  assert.equal(await verified.ping(), 'PONG');

  // The system trust store does not know the test CA: the handshake fails, no command runs.
  const untrusted = await openRedis(`rediss://127.0.0.1:${port}`, silent, {
    tls: { caFile: null, certFile: null, keyFile: null },
  });
  t.after(() => {
    untrusted.disconnect();
  });
  await assert.rejects(untrusted.ping());

  // The certificate names 127.0.0.1 only: `localhost` fails the host-name check (verify-full).
  const wrongName = await openRedis(`rediss://localhost:${port}`, silent, { tls: files });
  t.after(() => {
    wrongName.disconnect();
  });
  await assert.rejects(wrongName.ping());

  // Plain text to the TLS port gets no answer either.
  const plain = await openRedis(`redis://127.0.0.1:${port}`, silent);
  t.after(() => {
    plain.disconnect();
  });
  await assert.rejects(plain.ping());
});

test('Redis over TLS with client certificates: the configured pair is presented, none is refused', async (t) => {
  const dir = await folder(t);
  const ca = createTestCa(dir, 'IP:127.0.0.1');
  const { port } = await startTlsRedis(t, ca, true);
  const config = loadConfig({
    CADUCEUS_DATA_DIR: dir,
    CADUCEUS_REDIS_URL: `rediss://127.0.0.1:${port}`,
    CADUCEUS_REDIS_CA_FILE: ca.caFile,
    CADUCEUS_REDIS_CERT_FILE: ca.certFile,
    CADUCEUS_REDIS_KEY_FILE: ca.keyFile,
  });
  assert.ok(config.redisUrl !== null && config.redisTls !== null);
  const withCertificate = await openRedis(config.redisUrl, silent, { tls: config.redisTls });
  t.after(() => {
    withCertificate.disconnect();
  });
  assert.equal(await withCertificate.ping(), 'PONG');
  const without = await openRedis(config.redisUrl, silent, {
    tls: { ...config.redisTls, certFile: null, keyFile: null },
  });
  t.after(() => {
    without.disconnect();
  });
  await assert.rejects(without.ping());
});
