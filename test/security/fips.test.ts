/**
 * FIPS mode (docs/fips.md). This machine's Node has no FIPS provider, so the
 * server must refuse to start with CADUCEUS_FIPS=on; the self-tests and the
 * policy run for real against the linked OpenSSL.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, getFips } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { openConfiguredKeys } from '../../src/keys/local/index.js';
import type { PublicKeyInfo } from '../../src/keys/ports.js';
import {
  checkFipsRuntime,
  enforceFipsPolicy,
  FipsError,
  fipsReport,
  knownAnswerTests,
  runSelfTests,
  signingKeysOf,
  type FipsReport,
} from '../../src/fips/index.js';
import { caduceusEnv, processScope, runCliProcess } from '../helpers/process.js';

test('with CADUCEUS_FIPS=on and no FIPS provider the server refuses to start, naming the cause', async (t) => {
  assert.equal(getFips(), 0, 'this test expects a Node without an active FIPS provider');
  const scope = await processScope(t, 'caduceus-fips-');
  const run = await runCliProcess(scope, caduceusEnv(path.join(scope.dir, 'data'), { CADUCEUS_FIPS: 'on' }), ['serve']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /FIPS provider/);
  assert.match(run.stderr, /crypto\.getFips\(\)/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(run.stdout, '');
  assert.throws(() => loadConfig({ CADUCEUS_FIPS: 'yes' }), /CADUCEUS_FIPS must be one of: on, off/);
  assert.equal(loadConfig({}).fips, false);
});

test('the known-answer self-tests pass on the linked OpenSSL, and a failing one refuses the start', () => {
  assert.deepEqual(
    knownAnswerTests.map((kat) => kat.name),
    [
      'AES-256-GCM',
      'SHA-256',
      'SHA-384',
      'HMAC-SHA-256',
      'ECDSA P-256 SHA-256 verify',
      'RSA-PSS 2048 SHA-256 verify',
      'PBKDF2-HMAC-SHA-256',
    ],
  );
  assert.deepEqual(runSelfTests(), []);
  // With a provider (as on a validated module) the checks pass...
  checkFipsRuntime({ getFips: () => 1 });
  // ...and refuse when any self-test gives a wrong answer or throws.
  const broken = [
    ...knownAnswerTests,
    { name: 'SHA-512 (wrong answer)', run: () => false },
    {
      name: 'DRBG (throws)',
      run: () => {
        throw new Error('x');
      },
    },
  ];
  assert.throws(
    () => {
      checkFipsRuntime({ getFips: () => 1, selfTests: broken });
    },
    (error: unknown) =>
      error instanceof FipsError && error.message === 'FIPS self-tests failed: SHA-512 (wrong answer), DRBG (throws)',
  );
  assert.throws(() => {
    checkFipsRuntime({ getFips: () => 0 });
  }, FipsError);
});

function rsaKey(kid: string, alg: 'RS256' | 'PS256', bits: number): PublicKeyInfo {
  return { kid, alg, key: generateKeyPairSync('rsa', { modulusLength: bits }).publicKey };
}

test('the policy allows ES256/PS256 signing keys of approved sizes only, and PBKDF2 for new password hashes', () => {
  const fips = loadConfig({ CADUCEUS_FIPS: 'on', CADUCEUS_DATA_DIR: '/tmp/caduceus-unused' });
  const es256: PublicKeyInfo = {
    kid: 'es256-key',
    alg: 'ES256',
    key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
  };
  const approved = fipsReport(fips, [{ purpose: 'token-signing', keys: [es256, rsaKey('ps256-key', 'PS256', 3072)] }], {
    getFips: () => 1,
  });
  assert.deepEqual(approved.violations, []);
  assert.equal(approved.fipsProvider, true);
  assert.ok(
    approved.algorithms.some(
      (use) => use.use === 'password hashing (new hashes)' && use.algorithm.startsWith('PBKDF2-HMAC-SHA-256'),
    ),
  );
  assert.ok(approved.algorithms.some((use) => use.algorithm === 'PS256 (RSA 3072)'));

  const refused = fipsReport(fips, [
    { purpose: 'token-signing', keys: [rsaKey('rs256-key', 'RS256', 2048), rsaKey('short-key', 'PS256', 1024)] },
  ]);
  assert.equal(refused.violations.length, 2);
  assert.match(
    refused.violations.join('\n'),
    /token-signing key rs256-ke: RS256 \(RSA 2048\) is not FIPS 140-3 approved/,
  );
  assert.match(refused.violations.join('\n'), /RSA 1024/);

  // Outside FIPS mode the report still tells what FIPS mode would refuse: argon2id.
  const off = fipsReport(loadConfig({ CADUCEUS_DATA_DIR: '/tmp/caduceus-unused' }), []);
  assert.deepEqual(off.violations, ['password hashing (new hashes): argon2id is not FIPS 140-3 approved']);
});

test('at start in FIPS mode the keyring is checked and one line lists the algorithms in use', async (t) => {
  const scope = await processScope(t, 'caduceus-fips-');
  const config = loadConfig(caduceusEnv(scope.dir, { CADUCEUS_FIPS: 'on' }));
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
  const { keys } = await openConfiguredKeys(config, logger);
  t.after(() => keys.close());
  const report = await enforceFipsPolicy(config, keys, logger, { getFips: () => 1 });
  assert.ok(report !== null && report.violations.length === 0);
  const fipsLines = lines
    .map((line) => JSON.parse(line) as { event?: string; algorithms?: string[] })
    .filter((line) => line.event === 'fips.mode');
  assert.equal(fipsLines.length, 1);
  assert.ok(
    fipsLines[0]?.algorithms?.some((entry) => entry.startsWith('token-signing key') && entry.includes('ES256 (P-256)')),
  );
  assert.equal(await enforceFipsPolicy({ ...config, fips: false }, keys, logger), null);
  assert.equal((await signingKeysOf(keys)).length, 2);
});

test('caduceus fips report [--json] lists the algorithms in use and what FIPS mode would refuse', async (t) => {
  const scope = await processScope(t, 'caduceus-fips-');
  const env = caduceusEnv(path.join(scope.dir, 'data'));
  const json = await runCliProcess(scope, { ...env, CADUCEUS_FIPS: 'on' }, ['fips', 'report', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as FipsReport;
  assert.equal(report.fipsMode, true);
  assert.equal(report.fipsProvider, false);
  assert.equal(report.openssl, process.versions.openssl);
  assert.deepEqual(report.violations, []);
  assert.ok(report.algorithms.some((use) => use.use === 'resource sealing' && use.algorithm === 'AES-256-GCM'));
  const text = await runCliProcess(scope, env, ['fips', 'report']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^FIPS mode: off; OpenSSL .*, FIPS provider not active$/m);
  assert.match(text.stdout, /NOT approved {2}password hashing \(new hashes\): argon2id/);
  const bad = await runCliProcess(scope, env, ['fips', 'report', '--yaml']);
  assert.equal(bad.code, 2);
});
