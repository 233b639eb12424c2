/**
 * Processes sharing the master key share the TLS session ticket key, so a
 * client resumes on whichever process it reaches (src/edge/ticket-keys.ts);
 * and production on PostgreSQL refuses to start without one named issuer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import tls from 'node:tls';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { applyTicketKeys, type TicketKeySource } from '../../src/edge/ticket-keys.js';
import { MasterKey } from '../../src/keys/local/index.js';
import { createTestCa } from '../helpers/test-ca.js';

/** A TLS 1.3 listener with the ticket key from `source`, closed after the test. */
async function listener(t: TestContext, pair: { key: Buffer; cert: Buffer }, source: TicketKeySource) {
  const server = tls.createServer({ ...pair, minVersion: 'TLSv1.3' }, (socket) => {
    socket.end('ok');
  });
  const keys = applyTicketKeys([server], source);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    keys.close();
    return new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return address.port;
}

/** Connects, reads to the end, and returns the ticket the server sent and whether the session was resumed. */
function connect(
  port: number,
  ca: Buffer,
  session?: Buffer,
): Promise<{ session: Buffer | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...(session && { session }) });
    socket.on('session', (value: Buffer) => {
      ticket = value;
    });
    socket.on('error', reject);
    socket.on('data', () => undefined);
    socket.on('end', () => {
      resolve({ session: ticket, reused: socket.isSessionReused() });
    });
  });
}

async function material(t: TestContext) {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-tickets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = createTestCa(dir, 'DNS:localhost');
  return {
    dir,
    ca: Buffer.from(ca.caPem),
    pair: { key: await readFile(ca.keyFile), cert: await readFile(ca.certFile) },
  };
}

const derivedFrom = (bytes: Buffer): TicketKeySource => {
  const masterKey = new MasterKey(bytes);
  return { configured: null, derive: (purpose, length) => masterKey.derive(purpose, length) };
};

test('a session from one process resumes on another with the same master key, not with another', async (t) => {
  const { ca, pair } = await material(t);
  const shared = randomBytes(32);
  const a = await listener(t, pair, derivedFrom(shared));
  const b = await listener(t, pair, derivedFrom(Buffer.from(shared)));
  const stranger = await listener(t, pair, derivedFrom(randomBytes(32)));
  const first = await connect(a, ca);
  assert.ok(first.session !== undefined, 'A issued a session ticket');
  assert.equal((await connect(b, ca, first.session)).reused, true);
  assert.equal((await connect(stranger, ca, first.session)).reused, false);
});

test('the configured ticket key is used as is by every process', async (t) => {
  const { ca, pair } = await material(t);
  const key = randomBytes(48).toString('base64url');
  const unused = (): Buffer => assert.fail('a configured key is not derived');
  const a = await listener(t, pair, { configured: key, derive: unused });
  const b = await listener(t, pair, { configured: key, derive: unused });
  const first = await connect(a, ca);
  assert.equal((await connect(b, ca, first.session)).reused, true);
});

test('CADUCEUS_TLS_TICKET_KEY_FILE must hold one 48-byte key; the configuration carries it', async (t) => {
  const { dir } = await material(t);
  const file = path.join(dir, 'ticket.key');
  await writeFile(file, randomBytes(32).toString('hex'));
  assert.throws(() => loadConfig({ CADUCEUS_TLS_TICKET_KEY_FILE: file }, dir), ConfigError);
  const key = randomBytes(48);
  await writeFile(file, `${key.toString('hex')}\n`);
  assert.equal(
    loadConfig({ CADUCEUS_TLS_TICKET_KEY_FILE: file }, dir).sharedSecrets.tlsTicketKey,
    key.toString('base64url'),
  );
});

test('production on PostgreSQL needs CADUCEUS_ISSUER: each process would otherwise name its own port', () => {
  const env = {
    CADUCEUS_ENV: 'production',
    CADUCEUS_DATABASE_URL: 'postgres://u@db:5432/x',
    CADUCEUS_MASTER_KEY: randomBytes(32).toString('hex'),
    CADUCEUS_TLS_CERT: '/srv/cert.pem',
    CADUCEUS_TLS_KEY: '/srv/key.pem',
  };
  assert.throws(() => loadConfig(env, '/srv'), /CADUCEUS_ISSUER/);
  assert.equal(
    loadConfig({ ...env, CADUCEUS_ISSUER: 'https://ehr.example' }, '/srv').auth.issuer,
    'https://ehr.example',
  );
});
