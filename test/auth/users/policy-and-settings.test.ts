/**
 * The password policy's edges (NIST SP 800-63B §5.1.1.2) and the user
 * settings' validation, through the real config loader.
 */
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPasswordPolicy, loadCommonPasswords } from '../../../src/auth/users/password-policy.js';
import { ConfigError, loadConfig } from '../../../src/config/index.js';

const common = loadCommonPasswords();
const check = (password: string, username = 'someone') => checkPasswordPolicy(password, { username, common });

test('length counts code points after NFKC: 12 is enough, 11 is not, 128 is the most', () => {
  assert.equal(check('abcdefghijk'), 'too_short');
  assert.equal(check('abcdefghijkl'), null);
  assert.equal(check('😀'.repeat(11)), 'too_short', 'an emoji is one character, not two UTF-16 units');
  assert.equal(check('😀'.repeat(12)), null);
  assert.equal(check('ﬃ'.repeat(4)), null, 'NFKC makes each ligature three letters: 12 characters as hashed');
  assert.equal(check('ﬃ'.repeat(3)), 'too_short');
  assert.equal(check('y'.repeat(128)), null);
  assert.equal(check('y'.repeat(129)), 'too_long');
});

test('the common-password list of @zxcvbn-ts/language-common is loaded and matched case-insensitively', () => {
  assert.ok(common.size > 100, `only ${String(common.size)} entries of 12+ characters`);
  for (const password of ['qwertyuiopasdfghjkl', 'QWERTYUIOPASDFGHJKL', '1q2w3e4r5t6y', '1Q2W3E4R5T6Y']) {
    assert.equal(check(password), common.has(password.toLowerCase()) ? 'common' : null);
  }
  assert.equal(check('1Q2W3E4R5T6Y'), 'common');
  assert.equal(check('Grey.Nurse.Joy!'), null);
  assert.equal(check('Nurse.Joy.2026', 'nurse.joy.2026'), 'same_as_username');
});

test('user settings: defaults, bounds, and a base lock longer than the longest is refused', () => {
  const config = loadConfig({}, '/tmp');
  assert.deepEqual(config.users, {
    argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 },
    pbkdf2Iterations: 600_000,
    // One core stays with the event loop; a quarter of all cores' time for hashing, on threads at nice 19.
    hashing: {
      maxConcurrent: Math.max(1, availableParallelism() - 1),
      maxWaiting: 32,
      budgetMsPerSecond: 250 * availableParallelism(),
      nice: 19,
    },
    lockout: { accountFailures: 5, ipFailures: 20, baseSeconds: 60, maxSeconds: 3600, windowSeconds: 900 },
  });
  assert.equal(
    loadConfig({ CADUCEUS_PASSWORD_HASH_QUEUE: '0', CADUCEUS_LOCKOUT_ACCOUNT_FAILURES: '10' }, '/tmp').users.hashing
      .maxWaiting,
    0,
  );
  assert.equal(
    loadConfig({ CADUCEUS_PASSWORD_HASH_CPU_PERCENT: '0' }, '/tmp').users.hashing.budgetMsPerSecond,
    0,
    '0 turns the budget off',
  );
  assert.equal(
    loadConfig({ CADUCEUS_PASSWORD_HASH_CPU_PERCENT: '100' }, '/tmp').users.hashing.budgetMsPerSecond,
    1000 * availableParallelism(),
  );
  assert.equal(loadConfig({ CADUCEUS_PASSWORD_HASH_CONCURRENCY: '3' }, '/tmp').users.hashing.maxConcurrent, 3);
  assert.equal(
    loadConfig({ UV_THREADPOOL_SIZE: '2' }, '/tmp').users.hashing.maxConcurrent,
    Math.max(1, availableParallelism() - 1),
    'hashes have threads of their own, not libuv pool threads',
  );
  assert.equal(loadConfig({ CADUCEUS_PASSWORD_HASH_NICE: '0' }, '/tmp').users.hashing.nice, 0);
  for (const env of [
    { CADUCEUS_ARGON2_MEMORY_KIB: '1024' },
    { CADUCEUS_PBKDF2_ITERATIONS: '1000' },
    { CADUCEUS_PASSWORD_HASH_CONCURRENCY: '0' },
    { CADUCEUS_PASSWORD_HASH_CPU_PERCENT: '101' },
    { CADUCEUS_PASSWORD_HASH_CPU_PERCENT: '-5' },
    { CADUCEUS_PASSWORD_HASH_NICE: '20' },
    { CADUCEUS_PASSWORD_HASH_NICE: '-1' },
    { CADUCEUS_LOCKOUT_ACCOUNT_FAILURES: 'five' },
    { CADUCEUS_LOCKOUT_BASE_SECONDS: '7200' },
  ]) {
    assert.throws(
      () => loadConfig(env, '/tmp'),
      (error: unknown) => error instanceof ConfigError && error.message.includes(Object.keys(env)[0] ?? '?'),
      JSON.stringify(env),
    );
  }
});
