/**
 * The password-hashing threads (src/auth/users/hash-threads.ts): hashes run
 * on threads of their own, at most `size` of them, each at the configured
 * lower scheduling priority (Linux: read back from /proc), while the rest of
 * the process keeps its own; their hashes are the same argon2id and PBKDF2
 * hashes the libraries compute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { verify as argon2Verify } from '@node-rs/argon2';
import { createHashThreads } from '../../../src/auth/users/hash-threads.js';
import { createHashingQueue } from '../../../src/auth/users/hashing-queue.js';
import { createPasswordHasher } from '../../../src/auth/users/password-hasher.js';
import { parsePbkdf2 } from '../../../src/auth/users/pbkdf2.js';

const costs = { argon2: { memoryKiB: 8192, timeCost: 1, parallelism: 1 }, pbkdf2Iterations: 1000 };

/** The nice value of one thread of this process (field 19 of /proc/<pid>/task/<tid>/stat). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/${String(process.pid)}/task/${String(tid)}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

test(
  'hashes run on at most `size` threads of their own, each at the lower priority; the main thread keeps its own',
  { skip: process.platform !== 'linux' && 'thread priorities are read from Linux /proc' },
  async (t) => {
    const mainNice = niceOf(process.pid);
    const threads = createHashThreads({ size: 2, nice: 7 });
    t.after(() => threads.close());
    const hasher = createPasswordHasher(
      { fips: false, ...costs },
      createHashingQueue({ maxConcurrent: 4, maxWaiting: 8 }),
      threads,
    );
    const hashes = await Promise.all(Array.from({ length: 5 }, (_, i) => hasher.hash(`password number ${String(i)}`)));
    const ids = await threads.threadIds();
    assert.equal(ids.length, 2, 'five hashes on two threads');
    for (const id of ids) {
      assert.notEqual(id, process.pid);
      assert.equal(niceOf(id), Math.min(19, mainNice + 7), `thread ${String(id)}`);
    }
    assert.equal(niceOf(process.pid), mainNice, 'the event loop keeps its priority');
    for (const [i, phc] of hashes.entries())
      assert.equal(await argon2Verify(phc, `password number ${String(i)}`), true);
  },
);

test('threads hash what the libraries hash: argon2id verifies both ways, PBKDF2 equals node:crypto', async (t) => {
  const threads = createHashThreads({ size: 1, nice: 0 });
  t.after(() => threads.close());
  const queue = createHashingQueue({ maxConcurrent: 1, maxWaiting: 4 });
  const argon2 = createPasswordHasher({ fips: false, ...costs }, queue, threads);
  const phc = await argon2.hash('Ünïcode passphrase');
  assert.equal(await argon2.verify(phc, 'Ünïcode passphrase'), true);
  assert.equal(await argon2.verify(phc, 'another passphrase'), false);
  const fips = createPasswordHasher({ fips: true, ...costs }, queue, threads);
  const pbkdf2 = await fips.hash('a FIPS passphrase');
  const parsed = parsePbkdf2(pbkdf2);
  assert.ok(parsed !== undefined, pbkdf2);
  assert.deepEqual(parsed.hash, pbkdf2Sync('a FIPS passphrase', parsed.salt, 1000, 32, 'sha256'));
  assert.equal(await fips.verify(pbkdf2, 'a FIPS passphrase'), true);
  assert.equal(await fips.verify(pbkdf2, 'a wrong passphrase'), false);
});

test('a thread that ends is replaced: the next hash starts a new one', async (t) => {
  const threads = createHashThreads({ size: 1, nice: 0 });
  t.after(() => threads.close());
  const hasher = createPasswordHasher(
    { fips: false, ...costs },
    createHashingQueue({ maxConcurrent: 1, maxWaiting: 4 }),
    threads,
  );
  await hasher.hash('first passphrase');
  await threads.close();
  assert.match(await hasher.hash('second passphrase'), /^\$argon2id\$/);
});
