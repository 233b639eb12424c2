import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants, randomBytes, verify } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { KeyringError, MasterKey, openLocalKeyManager } from '../../src/keys/local/index.js';
import type { KeyManager, KeyPurpose } from '../../src/keys/ports.js';

const execFileAsync = promisify(execFile);

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function kids(manager: KeyManager, purpose: KeyPurpose): Promise<string[]> {
  return (await manager.publicKeys(purpose)).map((key) => key.kid);
}

async function verifies(manager: KeyManager, purpose: KeyPurpose, data: Buffer): Promise<boolean> {
  const signed = await manager.sign(purpose, data);
  const key = (await manager.publicKeys(purpose)).find((candidate) => candidate.kid === signed.kid);
  assert.ok(key, 'the signing key is among the public keys');
  return verify('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }, signed.signature);
}

test('first use creates an owner-only keyring with one ES256 key per purpose, kid = RFC 7638 thumbprint', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'nested', 'keyring.json');
  const manager = await openLocalKeyManager({ path: file });
  t.after(() => manager.close());

  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
  for (const purpose of ['token-signing', 'audit-signing'] as const) {
    const keys = await manager.publicKeys(purpose);
    assert.equal(keys.length, 1);
    const [key] = keys;
    assert.equal(key!.alg, 'ES256');
    assert.equal(key!.key.type, 'public');
    assert.equal(key!.key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(key!.kid, await calculateJwkThumbprint(key!.key.export({ format: 'jwk' })));
    assert.deepEqual(await manager.currentKey(purpose), { kid: key!.kid, alg: 'ES256' });
  }
  assert.notEqual((await manager.currentKey('token-signing')).kid, (await manager.currentKey('audit-signing')).kid);
  assert.deepEqual(await readdir(path.dirname(file)), ['keyring.json'], 'no temp file is left behind');
  const text = await readFile(file, 'utf8');
  assert.match(text, /BEGIN PRIVATE KEY/);
});

test('signatures are JWS-format ECDSA (64-byte r||s) that node:crypto verifies', async (t) => {
  const manager = await openLocalKeyManager({ path: path.join(await tempDir(t), 'keyring.json') });
  t.after(() => manager.close());
  const data = Buffer.from('header.payload');
  const signed = await manager.sign('token-signing', data);
  assert.equal(signed.alg, 'ES256');
  assert.equal(signed.signature.length, 64);
  assert.equal(await verifies(manager, 'token-signing', data), true);
  const key = (await manager.publicKeys('token-signing'))[0]!.key;
  assert.equal(
    verify('sha256', Buffer.from('header.payloaD'), { key, dsaEncoding: 'ieee-p1363' }, signed.signature),
    false,
  );
  const auditKey = (await manager.publicKeys('audit-signing'))[0]!.key;
  assert.equal(
    verify('sha256', data, { key: auditKey, dsaEncoding: 'ieee-p1363' }, signed.signature),
    false,
    'purposes use different keys',
  );
});

test('reopening loads the same keys instead of generating new ones', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  const first = await openLocalKeyManager({ path: file });
  const signed = await first.sign('audit-signing', Buffer.from('x'));
  await first.close();
  const second = await openLocalKeyManager({ path: file });
  t.after(() => second.close());
  assert.deepEqual(await kids(second, 'audit-signing'), [signed.kid]);
  const key = (await second.publicKeys('audit-signing'))[0]!.key;
  assert.equal(verify('sha256', Buffer.from('x'), { key, dsaEncoding: 'ieee-p1363' }, signed.signature), true);
  await assert.rejects(first.sign('audit-signing', Buffer.from('x')), KeyringError, 'a closed manager refuses');
});

test('rotate adds a current key, keeps the old one for verification (newest first) and persists', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  const manager = await openLocalKeyManager({ path: file });
  t.after(() => manager.close());
  const old = await manager.currentKey('token-signing');
  const auditBefore = await kids(manager, 'audit-signing');
  const oldSignature = await manager.sign('token-signing', Buffer.from('before'));

  const { kid } = await manager.rotate('token-signing');
  assert.notEqual(kid, old.kid);
  assert.deepEqual(await manager.currentKey('token-signing'), { kid, alg: 'ES256' });
  assert.deepEqual(await kids(manager, 'token-signing'), [kid, old.kid]);
  assert.deepEqual(await kids(manager, 'audit-signing'), auditBefore, 'other purposes are untouched');
  assert.equal((await manager.sign('token-signing', Buffer.from('after'))).kid, kid);
  const oldKey = (await manager.publicKeys('token-signing'))[1]!.key;
  assert.equal(
    verify('sha256', Buffer.from('before'), { key: oldKey, dsaEncoding: 'ieee-p1363' }, oldSignature.signature),
    true,
  );
  assert.equal((await stat(file)).mode & 0o777, 0o600);

  const reopened = await openLocalKeyManager({ path: file });
  t.after(() => reopened.close());
  assert.deepEqual(await kids(reopened, 'token-signing'), [kid, old.kid]);
});

test('refuses a keyring file that group or others can read, without naming the path', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  await (await openLocalKeyManager({ path: file })).close();
  await chmod(file, 0o644);
  const error: unknown = await openLocalKeyManager({ path: file }).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof KeyringError);
  assert.match(error.message, /group or others/);
  assert.ok(!error.message.includes(file));
  await chmod(file, 0o640);
  await assert.rejects(openLocalKeyManager({ path: file }), KeyringError);
  await chmod(file, 0o600);
  await (await openLocalKeyManager({ path: file })).close();
});

test('refuses a keyring whose kid does not match its key, and a malformed one', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  await (await openLocalKeyManager({ path: file })).close();
  const document = JSON.parse(await readFile(file, 'utf8')) as { purposes: Record<string, { kid: string }[]> };
  document.purposes['token-signing']![0]!.kid = 'not-the-thumbprint';
  await writeFile(file, JSON.stringify(document), { mode: 0o600 });
  await assert.rejects(openLocalKeyManager({ path: file }), /kid does not match/);
  await writeFile(file, '{"version":1,"purposes":{}}', { mode: 0o600 });
  await assert.rejects(openLocalKeyManager({ path: file }), KeyringError);
});

test('concurrent opens of a new keyring in one process end with one keyring', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'keyring.json');
  const managers = await Promise.all(Array.from({ length: 6 }, () => openLocalKeyManager({ path: file })));
  t.after(() => Promise.all(managers.map((manager) => manager.close())));
  const expected = await kids(managers[0]!, 'token-signing');
  for (const manager of managers) {
    assert.deepEqual(await kids(manager, 'token-signing'), expected);
    assert.equal(await verifies(manager, 'token-signing', Buffer.from('x')), true);
  }
  assert.deepEqual(await readdir(dir), ['keyring.json']);
});

test('separate processes opening a new keyring at once agree on one keyring', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'keyring.json');
  const moduleUrl = new URL('../../src/keys/local/index.ts', import.meta.url).href;
  const script = `const { openLocalKeyManager } = await import(${JSON.stringify(moduleUrl)});
    const m = await openLocalKeyManager({ path: ${JSON.stringify(file)} });
    process.stdout.write((await m.currentKey('token-signing')).kid);`;
  const children = Array.from({ length: 4 }, () =>
    execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]),
  );
  const outputs = (await Promise.all(children)).map((result) => result.stdout);
  assert.equal(new Set(outputs).size, 1, 'every process sees the same current key');
  const manager = await openLocalKeyManager({ path: file });
  t.after(() => manager.close());
  assert.equal((await manager.currentKey('token-signing')).kid, outputs[0]);
  assert.deepEqual(await readdir(dir), ['keyring.json']);
});

test('a rotation by another process is picked up, and concurrent rotations are both kept', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  const server = await openLocalKeyManager({ path: file, reloadIntervalMs: 0 });
  const cli = await openLocalKeyManager({ path: file, reloadIntervalMs: 0 });
  t.after(() => Promise.all([server.close(), cli.close()]));
  const original = (await server.currentKey('token-signing')).kid;

  const { kid } = await cli.rotate('token-signing');
  assert.equal((await server.currentKey('token-signing')).kid, kid, 'the server signs with the new key');
  assert.deepEqual(await kids(server, 'token-signing'), [kid, original]);

  const [a, b] = await Promise.all([server.rotate('audit-signing'), cli.rotate('audit-signing')]);
  const auditKids = await kids(server, 'audit-signing');
  assert.equal(auditKids.length, 3, 'neither rotation overwrote the other');
  assert.ok(auditKids.includes(a.kid) && auditKids.includes(b.kid));
  assert.deepEqual(await kids(cli, 'audit-signing'), auditKids);
});

test('public keys are the same KeyObject instances between calls (jose caches per KeyObject)', async (t) => {
  const manager = await openLocalKeyManager({ path: path.join(await tempDir(t), 'keyring.json') });
  t.after(() => manager.close());
  const [first] = await manager.publicKeys('token-signing');
  const [second] = await manager.publicKeys('token-signing');
  assert.equal(first!.key, second!.key);
});

test('a PS256 keyring signs with RSA-PSS, salt length 32', async (t) => {
  const manager = await openLocalKeyManager({ path: path.join(await tempDir(t), 'keyring.json'), algorithm: 'PS256' });
  t.after(() => manager.close());
  const data = Buffer.from('header.payload');
  const signed = await manager.sign('token-signing', data);
  assert.equal(signed.alg, 'PS256');
  const key = (await manager.publicKeys('token-signing'))[0]!.key;
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 3072);
  const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  assert.equal(verify('sha256', data, options, signed.signature), true);
});

test('with a master key the keyring file is sealed (no private key in clear) and opens only with that key', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  const masterKey = new MasterKey(randomBytes(32));
  const manager = await openLocalKeyManager({ path: file, masterKey });
  const kid = (await manager.currentKey('token-signing')).kid;
  assert.equal(await verifies(manager, 'token-signing', Buffer.from('x')), true);
  await manager.close();

  const text = await readFile(file, 'utf8');
  assert.doesNotMatch(text, /PRIVATE KEY/);
  assert.ok(!text.includes(kid), 'not even the kids are in clear');
  assert.equal((JSON.parse(text) as { format: string }).format, 'caduceus-sealed');
  assert.equal((await stat(file)).mode & 0o777, 0o600);

  const reopened = await openLocalKeyManager({ path: file, masterKey });
  t.after(() => reopened.close());
  assert.equal((await reopened.currentKey('token-signing')).kid, kid);
  await assert.rejects(openLocalKeyManager({ path: file }), /needs the master key/);
  await assert.rejects(
    openLocalKeyManager({ path: file, masterKey: new MasterKey(randomBytes(32)) }),
    /different master key/,
  );
});

test('an existing plaintext keyring is rewritten sealed once, with the same keys', async (t) => {
  const file = path.join(await tempDir(t), 'keyring.json');
  const plain = await openLocalKeyManager({ path: file });
  const before = { token: await kids(plain, 'token-signing'), audit: await kids(plain, 'audit-signing') };
  await plain.close();
  assert.match(await readFile(file, 'utf8'), /BEGIN PRIVATE KEY/);

  const masterKey = new MasterKey(randomBytes(32));
  let sealedCount = 0;
  const sealed = await openLocalKeyManager({
    path: file,
    masterKey,
    onSealed: () => {
      sealedCount += 1;
    },
  });
  t.after(() => sealed.close());
  assert.equal(sealedCount, 1);
  assert.doesNotMatch(await readFile(file, 'utf8'), /PRIVATE KEY/);
  assert.deepEqual({ token: await kids(sealed, 'token-signing'), audit: await kids(sealed, 'audit-signing') }, before);

  const again = await openLocalKeyManager({
    path: file,
    masterKey,
    onSealed: () => {
      sealedCount += 1;
    },
  });
  t.after(() => again.close());
  assert.equal(sealedCount, 1, 'a sealed keyring is not rewritten');
  assert.deepEqual(await kids(again, 'token-signing'), before.token);
});

test('a sealed keyring swapped for a plaintext one under a running manager is refused, not loaded', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'keyring.json');
  const masterKey = new MasterKey(randomBytes(32));
  const manager = await openLocalKeyManager({ path: file, masterKey, reloadIntervalMs: 0 });
  t.after(() => manager.close());
  const planted = await openLocalKeyManager({ path: path.join(dir, 'planted.json') });
  await planted.close();
  await writeFile(file, await readFile(path.join(dir, 'planted.json'), 'utf8'), { mode: 0o600 });
  await assert.rejects(manager.sign('token-signing', Buffer.from('x')), /replaced by an unsealed one/);
});
