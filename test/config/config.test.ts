import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ConfigError, loadConfig, settings } from '../../src/config/index.js';
import { configurationDocUrl, regenerateCommand, renderConfigurationDoc } from '../../scripts/configuration-doc.js';

test('defaults: development, loopback, 8443, SQLite under ./data, frozen', () => {
  const config = loadConfig({}, '/srv/app');
  assert.equal(config.env, 'development');
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8443);
  assert.equal(config.databaseUrl, '/srv/app/data/caduceus.db');
  assert.equal(config.tls.generated, true);
  assert.equal(config.limits.bodyBytes, 1_048_576);
  assert.equal(config.auth.audience, 'https://localhost:8443/api/v1');
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.limits), 'config is frozen all the way down');
  assert.throws(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
});

test('a postgres URL is kept as given; relative SQLite paths resolve against cwd', () => {
  assert.equal(
    loadConfig({ CADUCEUS_DATABASE_URL: 'postgres://u@db:5432/x' }, '/a').databaseUrl,
    'postgres://u@db:5432/x',
  );
  assert.equal(loadConfig({ CADUCEUS_DATABASE_URL: 'x/y.db' }, '/a').databaseUrl, '/a/x/y.db');
  assert.equal(loadConfig({}, '/a').redisUrl, null);
  assert.equal(loadConfig({ CADUCEUS_REDIS_URL: 'rediss://cache:6380/2' }, '/a').redisUrl, 'rediss://cache:6380/2');
});

test('invalid settings are refused with the setting named and the value not echoed', () => {
  const cases: Record<string, string>[] = [
    { CADUCEUS_PORT: 'eighty' },
    { CADUCEUS_PORT: '70000' },
    { CADUCEUS_ENV: 'staging-secret-value' },
    { CADUCEUS_TLS_CERT: '/only/cert.pem' },
    { CADUCEUS_PAGE_SIZE: '500', CADUCEUS_MAX_PAGE_SIZE: '100' },
    { CADUCEUS_ISSUER: 'not a url' },
    { CADUCEUS_BODY_LIMIT_BYTES: '-1' },
    { CADUCEUS_REDIS_URL: 'http://secret-host:6379' },
    { CADUCEUS_REDIS_URL: 'not a url' },
  ];
  for (const env of cases) {
    assert.throws(
      () => loadConfig(env, '/a'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const [name] = Object.keys(env);
        assert.ok(error.message.includes(name!), `message names ${name!}`);
        for (const value of Object.values(env)) assert.ok(!error.message.includes(value), 'value not echoed');
        return true;
      },
    );
  }
});

/** 1-based line of the first difference between two texts, with both lines, for a failure message. */
function firstDifference(actual: string, expected: string): string {
  const actualLines = actual.split('\n');
  const expectedLines = expected.split('\n');
  let line = 0;
  const longest = Math.max(actualLines.length, expectedLines.length);
  while (line < longest && actualLines[line] === expectedLines[line]) line += 1;
  return `line ${line + 1}: expected ${JSON.stringify(expectedLines[line] ?? '(end of file)')}, found ${JSON.stringify(actualLines[line] ?? '(end of file)')}`;
}

test('docs/configuration.md is the page generated from the settings table, listing every setting with its default and nothing else', async () => {
  const doc = await readFile(configurationDocUrl, 'utf8');
  const expected = renderConfigurationDoc(settings);
  if (doc !== expected) {
    assert.fail(
      `docs/configuration.md is out of step with src/config/settings.ts: run \`${regenerateCommand}\` and commit the page (${firstDifference(doc, expected)})`,
    );
  }
  // The generator itself is checked too: one row per setting, with the default as written in settings.ts.
  const rows = new Map(
    [...doc.matchAll(/^\| `(CADUCEUS_[A-Z0-9_]+)` \| (.+?) \|/gm)].map((match) => [match[1]!, match[2]!]),
  );
  assert.deepEqual([...rows.keys()].sort(), settings.map((setting) => setting.name).sort());
  for (const setting of settings) assert.equal(rows.get(setting.name), setting.default, `${setting.name} default`);
});

test('README links the configuration page and keeps no second settings table to drift', async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes('(docs/configuration.md)'), 'README links docs/configuration.md');
  assert.deepEqual(
    [...readme.matchAll(/^\| `(CADUCEUS_[A-Z0-9_]+)` \|/gm)].map((match) => match[1]),
    [],
    'settings rows belong in docs/configuration.md, generated from src/config/settings.ts',
  );
});

test('every setting the loader reads is in the settings table', async () => {
  const folder = new URL('../../src/config/', import.meta.url);
  const files = (await readdir(folder)).filter((file) => file.endsWith('.ts') && file !== 'settings.ts');
  const sources = await Promise.all(files.map((file) => readFile(new URL(file, folder), 'utf8')));
  const read = new Set(
    sources.flatMap((source) => [...source.matchAll(/'(CADUCEUS_[A-Z0-9_]+)'/g)].map((match) => match[1]!)),
  );
  assert.ok(read.has('CADUCEUS_PORT') && read.has('CADUCEUS_PKCS11_MODULE'), 'the scan sees the loaders');
  const listed = new Set(settings.map((setting) => setting.name));
  for (const name of read) assert.ok(listed.has(name), `${name} is documented`);
});
