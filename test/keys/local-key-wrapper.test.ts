import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KeyringError, MasterKey, openLocalKeyWrapper } from '../../src/keys/local/index.js';
import { keyWrapperContract } from './contract-key-wrapper.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-kek-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

keyWrapperContract('local', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-kek-'));
  const masterKey = new MasterKey(randomBytes(32));
  const file = path.join(dir, 'kek-keyring.json');
  return {
    open: () => openLocalKeyWrapper({ path: file, masterKey }),
    reopen: () => openLocalKeyWrapper({ path: file, masterKey }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

test('local: the KEK keyring is an owner-only file sealed under the master key, with no KEK in clear', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'kek-keyring.json');
  const masterKey = new MasterKey(randomBytes(32));
  const wrapper = await openLocalKeyWrapper({ path: file, masterKey });
  t.after(() => wrapper.close());
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  const sealed = JSON.parse(text) as Record<string, unknown>;
  assert.equal(sealed.format, 'caduceus-sealed');
  assert.equal(sealed.purpose, 'kek-keyring');
  assert.equal(sealed.masterKeyId, masterKey.id);
  assert.doesNotMatch(text, /local-\d{13}/, 'not even the KEK ids are in clear');
  assert.match(await wrapper.currentKekId(), /^local-\d{13}-[0-9a-f]{8}$/);
});

test('local: another master key, an altered file or a group-readable file is refused', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'kek-keyring.json');
  const masterKey = new MasterKey(randomBytes(32));
  await (await openLocalKeyWrapper({ path: file, masterKey })).close();
  await assert.rejects(
    openLocalKeyWrapper({ path: file, masterKey: new MasterKey(randomBytes(32)) }),
    /different master key/,
  );

  const original = await readFile(file, 'utf8');
  const document = JSON.parse(original) as { ciphertext: string };
  const bytes = Buffer.from(document.ciphertext, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  await writeFile(file, JSON.stringify({ ...document, ciphertext: bytes.toString('base64url') }), { mode: 0o600 });
  await assert.rejects(openLocalKeyWrapper({ path: file, masterKey }), /integrity/);

  await writeFile(file, original, { mode: 0o600 });
  await chmod(file, 0o640);
  await assert.rejects(
    openLocalKeyWrapper({ path: file, masterKey }),
    (error: unknown) =>
      error instanceof KeyringError && /group or others/.test(error.message) && !error.message.includes(file),
  );
  await chmod(file, 0o600);
  await (await openLocalKeyWrapper({ path: file, masterKey })).close();
});

test('local: a wrapped key moved to another KEK id does not unwrap (the AAD names the KEK)', async (t) => {
  const dir = await tempDir(t);
  const masterKey = new MasterKey(randomBytes(32));
  const wrapper = await openLocalKeyWrapper({ path: path.join(dir, 'kek-keyring.json'), masterKey });
  t.after(() => wrapper.close());
  const first = await wrapper.wrap(randomBytes(32));
  const second = await wrapper.rotate();
  await assert.rejects(wrapper.unwrap({ kekId: second, wrapped: first.wrapped }), /integrity/);
  assert.equal((await wrapper.unwrap(first)).length, 32);
});

test('local: a rotation by another process is seen by unwrap at once and by wrap after the reload interval', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'kek-keyring.json');
  const masterKey = new MasterKey(randomBytes(32));
  const server = await openLocalKeyWrapper({ path: file, masterKey, reloadIntervalMs: 60_000 });
  const cli = await openLocalKeyWrapper({ path: file, masterKey, reloadIntervalMs: 0 });
  t.after(() => Promise.all([server.close(), cli.close()]));
  const before = await server.currentKekId();
  const rotated = await cli.rotate();
  const dataKey = randomBytes(32);
  const wrapped = await cli.wrap(dataKey);
  assert.equal(wrapped.kekId, rotated);
  assert.deepEqual(
    Buffer.from(await server.unwrap(wrapped)),
    dataKey,
    'an unknown KEK id makes it read the file again',
  );
  assert.deepEqual(await server.kekIds(), [rotated, before]);
});

test('local: a data key wrapped by another keyring (a second process set up apart) is refused naming the setting to share', async (t) => {
  const dir = await tempDir(t);
  const masterKey = new MasterKey(randomBytes(32));
  const first = await openLocalKeyWrapper({ path: path.join(dir, 'one.json'), masterKey });
  const second = await openLocalKeyWrapper({ path: path.join(dir, 'two.json'), masterKey });
  t.after(async () => {
    await first.close();
    await second.close();
  });
  const wrapped = await first.wrap(randomBytes(32));
  await assert.rejects(second.unwrap(wrapped), (error: unknown) => {
    assert.ok(error instanceof KeyringError);
    assert.equal(error.setting, 'CADUCEUS_KEK_KEYRING');
    assert.match(
      error.message,
      /every process sharing the database needs the same CADUCEUS_KEK_KEYRING file and master key/,
    );
    return true;
  });
});
