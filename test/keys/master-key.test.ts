import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import {
  decodeMasterKey,
  MasterKey,
  MasterKeyError,
  resolveMasterKey,
  type MasterKeySettings,
} from '../../src/keys/local/index.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-mk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A pino logger that keeps every line it writes. */
function capturingLogger(): { logger: pino.Logger; lines: { level: number; event?: string; msg: string }[] } {
  const lines: { level: number; event?: string; msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as (typeof lines)[number]);
      },
    },
  );
  return { logger, lines };
}

function settings(dir: string, overrides: Partial<MasterKeySettings> = {}): MasterKeySettings {
  return { file: null, value: null, generatedPath: path.join(dir, 'master.key'), production: false, ...overrides };
}

test('decodes 32 bytes from hex, base64 and base64url, and nothing else', () => {
  const bytes = randomBytes(32);
  for (const text of [
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    `${bytes.toString('base64')}\n`,
  ]) {
    assert.deepEqual(decodeMasterKey(text), bytes, text);
  }
  for (const text of [
    '',
    'short',
    randomBytes(16).toString('hex'),
    randomBytes(31).toString('base64'),
    randomBytes(33).toString('base64'),
    `${bytes.toString('hex')}00`,
  ]) {
    assert.equal(decodeMasterKey(text), undefined, text);
  }
  assert.throws(() => new MasterKey(randomBytes(16)), MasterKeyError);
});

test('development without a configured key generates an owner-only master.key once, with a loud warning each start', async (t) => {
  const dir = await tempDir(t);
  const { logger, lines } = capturingLogger();
  const first = await resolveMasterKey(settings(dir), logger);
  assert.equal(first.source, 'generated');
  const file = path.join(dir, 'master.key');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(decodeMasterKey(await readFile(file, 'utf8'))?.length, 32);
  const second = await resolveMasterKey(settings(dir), logger);
  assert.equal(second.key.id, first.key.id, 'the same key on the next start');
  const warnings = lines.filter((line) => line.event === 'keys.development_master_key');
  assert.equal(warnings.length, 2);
  assert.ok(warnings.every((line) => line.level === 40 && /DEVELOPMENT ONLY/.test(line.msg)));
  const key = (await readFile(file, 'utf8')).trim();
  assert.ok(
    lines.every((line) => !JSON.stringify(line).includes(key)),
    'the key itself is never logged',
  );
});

test('concurrent first starts agree on one generated key', async (t) => {
  const dir = await tempDir(t);
  const logger = pino({ level: 'silent' });
  const keys = await Promise.all(Array.from({ length: 6 }, () => resolveMasterKey(settings(dir), logger)));
  assert.equal(new Set(keys.map((resolved) => resolved.key.id)).size, 1);
});

test('production without a master key refuses, and generates nothing', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(
    resolveMasterKey(settings(dir, { production: true }), pino({ level: 'silent' })),
    (error: unknown) => error instanceof MasterKeyError && /CADUCEUS_MASTER_KEY_FILE/.test(error.message),
  );
  await assert.rejects(stat(path.join(dir, 'master.key')), { code: 'ENOENT' });
});

test('a key from a file or the environment is used as given; bad ones are refused naming the setting, not the value', async (t) => {
  const dir = await tempDir(t);
  const logger = pino({ level: 'silent' });
  const bytes = randomBytes(32);
  const file = path.join(dir, 'operator.key');
  await writeFile(file, `${bytes.toString('hex')}\n`, { mode: 0o600 });
  const fromFile = await resolveMasterKey(settings(dir, { file, production: true }), logger);
  const fromEnv = await resolveMasterKey(settings(dir, { value: bytes.toString('base64'), production: true }), logger);
  assert.deepEqual([fromFile.source, fromEnv.source], ['file', 'environment']);
  assert.equal(fromFile.key.id, new MasterKey(bytes).id);
  assert.equal(fromEnv.key.id, fromFile.key.id);

  const bad = 'not-a-key-at-all';
  await assert.rejects(
    resolveMasterKey(settings(dir, { value: bad }), logger),
    (error: Error) => /CADUCEUS_MASTER_KEY /.test(error.message) && !error.message.includes(bad),
  );
  await writeFile(file, bad, { mode: 0o600 });
  await assert.rejects(
    resolveMasterKey(settings(dir, { file }), logger),
    (error: Error) => /CADUCEUS_MASTER_KEY_FILE/.test(error.message) && !error.message.includes(bad),
  );
  await writeFile(file, bytes.toString('hex'));
  await chmod(file, 0o644);
  await assert.rejects(resolveMasterKey(settings(dir, { file }), logger), /group or others/);
  await assert.rejects(
    resolveMasterKey(settings(dir, { file: path.join(dir, 'missing.key') }), logger),
    /does not exist/,
  );
});

test('what one master key seals, another cannot open, nor can the same key under another purpose', () => {
  const key = new MasterKey(randomBytes(32));
  const sealed = key.seal('kek-keyring', 'secret text');
  assert.ok(!sealed.includes('secret text'));
  assert.equal(key.open('kek-keyring', sealed), 'secret text');
  assert.throws(() => key.open('signing-keyring', sealed), /different kind/);
  assert.throws(() => new MasterKey(randomBytes(32)).open('kek-keyring', sealed), /different master key/);
  const document = JSON.parse(sealed) as { purpose: string };
  assert.throws(
    () => key.open('signing-keyring', JSON.stringify({ ...document, purpose: 'signing-keyring' })),
    /integrity/,
    'the purpose is in the AAD',
  );
});
