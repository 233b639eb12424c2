/**
 * The bounded hashing queue (src/auth/users/hashing-queue.ts): at most
 * `maxConcurrent` real hashes at once, at most `maxWaiting` waiting, and
 * beyond that a PasswordHashingBusyError that a Fastify route answers as
 * 503 SERVICE_UNAVAILABLE with Retry-After.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { createHashingQueue, PasswordHashingBusyError } from '../../../src/auth/users/hashing-queue.js';
import { createPasswordHasher } from '../../../src/auth/users/password-hasher.js';
import { errorHandlerPlugin } from '../../../src/errors/error-handler.js';

const costs = { argon2: { memoryKiB: 8192, timeCost: 2, parallelism: 1 }, pbkdf2Iterations: 1000 };

test('the queue runs at most maxConcurrent hashes at once, queues maxWaiting, and sheds the rest at once', async () => {
  const queue = createHashingQueue({ maxConcurrent: 2, maxWaiting: 3 });
  const hasher = createPasswordHasher({ fips: false, ...costs }, queue);
  let peak = 0;
  const observe = setInterval(() => { peak = Math.max(peak, queue.stats().active); }, 1);
  const attempts = Array.from({ length: 8 }, (_, i) => hasher.hash(`password number ${String(i)}`).then(() => 'hashed', (error: unknown) => error));
  const early = queue.stats();
  const results = await Promise.all(attempts);
  clearInterval(observe);
  assert.deepEqual({ active: early.active, waiting: early.waiting }, { active: 2, waiting: 3 });
  assert.equal(results.filter((r) => r === 'hashed').length, 5);
  const shed = results.filter((r) => r instanceof PasswordHashingBusyError);
  assert.equal(shed.length, 3);
  for (const error of shed) assert.ok(error.retryAfterSeconds >= 1);
  assert.ok(peak <= 2, `peak ${String(peak)}`);
  assert.deepEqual(queue.stats(), { active: 0, waiting: 0, started: 5, shed: 3 });
  // Drained: it accepts work again.
  assert.match(await hasher.hash('after the burst is over'), /^\$argon2id\$/);
});

test('a failing task frees its slot; a malformed stored hash verifies as false', async () => {
  const queue = createHashingQueue({ maxConcurrent: 1, maxWaiting: 0 });
  await assert.rejects(queue.run(() => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(queue.stats().active, 0);
  const hasher = createPasswordHasher({ fips: false, ...costs }, queue);
  assert.equal(await hasher.verify('$argon2id$v=19$m=8192,t=1,p=1$bad$bad', 'whatever password'), false);
  assert.equal(await hasher.verify('$pbkdf2-sha256$i=1000,l=32$short$short', 'whatever password'), false);
  assert.equal(await hasher.verify('plain text', 'plain text'), false, 'a stored string in no known format matches nothing');
});

test('over HTTP: a route whose login meets a full queue answers 503 SERVICE_UNAVAILABLE with Retry-After', async (t) => {
  const queue = createHashingQueue({ maxConcurrent: 1, maxWaiting: 0 });
  const hasher = createPasswordHasher({ fips: false, ...costs }, queue);
  const stored = await hasher.hash('the stored password');
  const app = Fastify();
  t.after(() => app.close());
  await app.register(errorHandlerPlugin);
  app.post('/login', async () => ({ ok: await hasher.verify(stored, 'the stored password') }));
  await app.ready();
  const answers = await Promise.all([1, 2, 3].map(() => app.inject({ method: 'POST', url: '/login' })));
  const statuses = answers.map((a) => a.statusCode).sort();
  assert.deepEqual(statuses, [200, 503, 503]);
  for (const busy of answers.filter((a) => a.statusCode === 503)) {
    assert.equal(busy.headers['retry-after'], '1');
    assert.equal((busy.json<{ error: { code: string } }>()).error.code, 'SERVICE_UNAVAILABLE');
  }
  assert.equal(answers.find((a) => a.statusCode === 200)?.json<{ ok: boolean }>().ok, true);
});
