/**
 * What happens at start (docs/key-management.md "Start-up"): the settings
 * production refuses, the loud warnings, and the real server sealing both
 * keyrings and every body with an existing plaintext keyring migrated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import { identitySealer } from '../../src/keys/identity-sealer.js';
import { openKeyProtection, openKeyWrapper } from '../../src/keys/envelope/index.js';
import { MasterKey, openLocalKeyManager } from '../../src/keys/local/index.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { openDatabase } from '../../src/storage/open.js';
import { caduceusEnv, httpsRequest, processScope, signToken, startInProcess } from '../helpers/process.js';

const masterHex = randomBytes(32).toString('hex');

/** The setting is refused with a ConfigError naming it; `hidden` (key material, free-text input) never appears in the message. */
function refused(env: Record<string, string>, setting: RegExp, hidden: readonly string[] = []): void {
  assert.throws(
    () => loadConfig({ CADUCEUS_DATA_DIR: '/tmp/caduceus-none', ...env }, '/tmp'),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, setting);
      for (const value of [masterHex, ...hidden]) assert.ok(!error.message.includes(value), 'value not echoed');
      return true;
    },
  );
}

test('settings: production needs a master key and refuses encryption off; HSM-only and pkcs11 need their settings; bad values are named, not echoed', () => {
  refused({ CADUCEUS_ENV: 'production' }, /CADUCEUS_MASTER_KEY_FILE/);
  refused(
    { CADUCEUS_ENV: 'production', CADUCEUS_MASTER_KEY: masterHex, CADUCEUS_ENCRYPTION: 'off' },
    /CADUCEUS_ENCRYPTION/,
  );
  refused({ CADUCEUS_REQUIRE_HSM: 'true' }, /CADUCEUS_REQUIRE_HSM/);
  refused({ CADUCEUS_REQUIRE_HSM: 'yes' }, /CADUCEUS_REQUIRE_HSM/, ['yes']);
  refused({ CADUCEUS_KEY_MANAGER: 'pkcs11' }, /CADUCEUS_PKCS11_MODULE/);
  refused({ CADUCEUS_KEY_MANAGER: 'vault' }, /CADUCEUS_KEY_MANAGER/, ['vault']);
  refused({ CADUCEUS_MASTER_KEY: 'not-a-32-byte-key-but-long-enough' }, /CADUCEUS_MASTER_KEY /, ['not-a-32-byte-key']);
  refused({ CADUCEUS_MASTER_KEY: masterHex, CADUCEUS_MASTER_KEY_FILE: '/etc/caduceus/master.key' }, /both/, [
    '/etc/caduceus',
  ]);
  refused({ CADUCEUS_DATA_KEY_CACHE_SIZE: '12x' }, /CADUCEUS_DATA_KEY_CACHE_SIZE/, ['12x']);
  refused({ CADUCEUS_DATA_KEY_CACHE_SIZE: '0' }, /CADUCEUS_DATA_KEY_CACHE_SIZE/);
  refused({ CADUCEUS_KEY_MANAGER_TIMEOUT_MS: '10' }, /CADUCEUS_KEY_MANAGER_TIMEOUT_MS/);

  const production = loadConfig(
    { CADUCEUS_ENV: 'production', CADUCEUS_MASTER_KEY_FILE: 'secrets/master.key', CADUCEUS_DATA_DIR: '/srv/data' },
    '/srv',
  );
  assert.deepEqual(production.keys.masterKey, {
    file: '/srv/secrets/master.key',
    value: null,
    generatedPath: '/srv/data/master.key',
  });
  assert.equal(production.keys.encryption, 'on');
  const development = loadConfig({ CADUCEUS_DATA_DIR: '/srv/data', CADUCEUS_ENCRYPTION: 'off' }, '/srv');
  assert.equal(development.keys.encryption, 'off');
  assert.equal(development.keys.manager, 'local');
  assert.equal(development.keys.kekKeyringPath, '/srv/data/kek-keyring.json');
});

function capture(): { logger: pino.Logger; events: string[] } {
  const events: string[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        events.push(String((JSON.parse(line) as { event?: string }).event));
      },
    },
  );
  return { logger, events };
}

test('the local key manager in production starts with a loud warning; in development it does not', async (t) => {
  const scope = await processScope(t);
  const masterKey = new MasterKey(randomBytes(32));
  for (const [mode, warned] of [
    ['production', true],
    ['development', false],
  ] as const) {
    const { logger, events } = capture();
    const config = loadConfig(
      { CADUCEUS_ENV: mode, CADUCEUS_MASTER_KEY: masterHex, CADUCEUS_DATA_DIR: path.join(scope.dir, mode) },
      scope.dir,
    );
    const wrapper = await openKeyWrapper(config, masterKey, logger);
    await wrapper.close();
    assert.equal(events.includes('keys.local_key_manager_in_production'), warned, mode);
  }
});

test('CADUCEUS_ENCRYPTION=off gives the identity sealer, with a warning and no key manager opened', async (t) => {
  const scope = await processScope(t);
  const { logger, events } = capture();
  const config = loadConfig({ CADUCEUS_DATA_DIR: scope.dir, CADUCEUS_ENCRYPTION: 'off' }, scope.dir);
  const db = await openDatabase(':memory:');
  t.after(() => db.close());
  const breakers = createBreakers(createSecurityEvents(pino({ level: 'silent' })));
  const protection = await openKeyProtection(config, {
    masterKey: new MasterKey(randomBytes(32)),
    dataKeys: db.dataKeys,
    breakers,
    logger,
  });
  assert.equal(protection.sealer, identitySealer);
  assert.equal(protection.wrapper, null);
  assert.deepEqual(events, ['keys.encryption_off']);
  assert.equal(breakers.list().length, 0);
  await assert.rejects(stat(config.keys.kekKeyringPath), { code: 'ENOENT' });
});

test('the real server seals an existing plaintext keyring, keeps its keys, creates a sealed KEK keyring and stores sealed bodies', async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir);
  // A data folder from before sealing: its signing keyring is plaintext.
  const plain = await openLocalKeyManager({ path: path.join(scope.dir, 'keyring.json') });
  const kid = (await plain.currentKey('token-signing')).kid;
  await plain.close();
  assert.match(await readFile(path.join(scope.dir, 'keyring.json'), 'utf8'), /PRIVATE KEY/);

  const server = await startInProcess(scope, env);
  for (const file of ['keyring.json', 'kek-keyring.json']) {
    const text = await readFile(path.join(scope.dir, file), 'utf8');
    assert.equal((JSON.parse(text) as { format: string }).format, 'caduceus-sealed', file);
    assert.doesNotMatch(text, /PRIVATE KEY|local-\d/, file);
    assert.equal((await stat(path.join(scope.dir, file))).mode & 0o777, 0o600, file);
  }
  await assert.rejects(
    stat(path.join(scope.dir, 'master.key')),
    { code: 'ENOENT' },
    'the configured key is used, none generated',
  );

  const token = await signToken(server.config, 'clinician');
  assert.equal(
    (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid,
    kid,
    'the same signing key as before sealing',
  );
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Sealedmarker' }] }),
  });
  assert.equal(created.status, 201, created.body);
  const id = (JSON.parse(created.body) as { id: string }).id;
  const read = await httpsRequest(`${server.url}/api/v1/patients/${id}`, server.ca, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.match(read.body, /Sealedmarker/);
  await server.stop();
  const db = new BetterSqlite3(server.config.databaseUrl, { readonly: true });
  try {
    const bodies = db.prepare('SELECT body FROM resource_versions').pluck().all() as Buffer[];
    assert.equal(bodies.length, 1);
    assert.ok(!bodies[0]!.includes('Sealedmarker'));
  } finally {
    db.close();
  }
});
