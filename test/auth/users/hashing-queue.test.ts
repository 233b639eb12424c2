/**
 * The bounded hashing queue (src/auth/users/hashing-queue.ts): at most
 * `maxConcurrent` real hashes at once, at most `maxWaiting` waiting, and
 * beyond that a PasswordHashingBusyError that a Fastify route answers as
 * 503 SERVICE_UNAVAILABLE with Retry-After; and a CPU budget of hashing
 * milliseconds per second beyond which it sheds too.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { createHashThreads, type HashThreads } from '../../../src/auth/users/hash-threads.js';
import { createHashingQueue, PasswordHashingBusyError } from '../../../src/auth/users/hashing-queue.js';
import { createPasswordHasher } from '../../../src/auth/users/password-hasher.js';
import { errorHandlerPlugin } from '../../../src/edge/error-handler.js';

const costs = { argon2: { memoryKiB: 8192, timeCost: 2, parallelism: 1 }, pbkdf2Iterations: 1000 };
/** The hashing threads of one test, ended after it. */
function threadsFor(t: TestContext, size: number): HashThreads {
  const threads = createHashThreads({ size, nice: 0 });
  t.after(() => threads.close());
  return threads;
}

test('the queue runs at most maxConcurrent hashes at once, queues maxWaiting, and sheds the rest at once', async (t) => {
  const queue = createHashingQueue({ maxConcurrent: 2, maxWaiting: 3 });
  const hasher = createPasswordHasher({ fips: false, ...costs }, queue, threadsFor(t, 2));
  let peak = 0;
  const observe = setInterval(() => {
    peak = Math.max(peak, queue.stats().active);
  }, 1);
  const attempts = Array.from({ length: 8 }, (_, i) =>
    hasher.hash(`password number ${String(i)}`).then(
      () => 'hashed',
      (error: unknown) => error,
    ),
  );
  const early = queue.stats();
  const results = await Promise.all(attempts);
  clearInterval(observe);
  assert.deepEqual({ active: early.active, waiting: early.waiting }, { active: 2, waiting: 3 });
  assert.equal(results.filter((r) => r === 'hashed').length, 5);
  const shed = results.filter((r) => r instanceof PasswordHashingBusyError);
  assert.equal(shed.length, 3);
  for (const error of shed) assert.ok(error.retryAfterSeconds >= 1);
  assert.ok(peak <= 2, `peak ${String(peak)}`);
  assert.deepEqual(queue.stats(), { active: 0, waiting: 0, started: 5, shed: 3, overBudget: 0 });
  // Drained: it accepts work again.
  assert.match(await hasher.hash('after the burst is over'), /^\$argon2id\$/);
});

test('a failing task frees its slot; a malformed stored hash verifies as false', async (t) => {
  const queue = createHashingQueue({ maxConcurrent: 1, maxWaiting: 0 });
  await assert.rejects(
    queue.run(() => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(queue.stats().active, 0);
  const hasher = createPasswordHasher({ fips: false, ...costs }, queue, threadsFor(t, 1));
  assert.equal(await hasher.verify('$argon2id$v=19$m=8192,t=1,p=1$bad$bad', 'whatever password'), false);
  assert.equal(await hasher.verify('$pbkdf2-sha256$i=1000,l=32$short$short', 'whatever password'), false);
  assert.equal(
    await hasher.verify('plain text', 'plain text'),
    false,
    'a stored string in no known format matches nothing',
  );
});

test('over HTTP: a route whose login meets a full queue answers 503 SERVICE_UNAVAILABLE with Retry-After', async (t) => {
  const queue = createHashingQueue({ maxConcurrent: 1, maxWaiting: 0 });
  const hasher = createPasswordHasher({ fips: false, ...costs }, queue, threadsFor(t, 1));
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
    assert.equal(busy.json<{ error: { code: string } }>().error.code, 'SERVICE_UNAVAILABLE');
  }
  assert.equal(answers.find((a) => a.statusCode === 200)?.json<{ ok: boolean }>().ok, true);
});

test('wouldShed tells a full queue ahead of time and changes nothing', async () => {
  const queue = createHashingQueue({ maxConcurrent: 1, maxWaiting: 1 });
  assert.equal(queue.wouldShed(), undefined);
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const first = queue.run(() => gate);
  assert.equal(queue.wouldShed(), undefined, 'one may still wait');
  const second = queue.run(() => Promise.resolve('waited'));
  const busy = queue.wouldShed();
  assert.ok(busy !== undefined && busy >= 1 && busy <= 30, String(busy));
  assert.deepEqual(
    { ...queue.stats(), started: 0 },
    { active: 1, waiting: 1, started: 0, shed: 0, overBudget: 0 },
    'a look sheds nothing',
  );
  await assert.rejects(
    queue.run(() => Promise.resolve()),
    (error: unknown) => error instanceof PasswordHashingBusyError && error.retryAfterSeconds === busy,
  );
  open();
  await first;
  assert.equal(await second, 'waited');
  assert.equal(queue.wouldShed(), undefined);
});

test('the CPU budget: hashing time stays within budgetMsPerSecond over simulated time, the rest is shed with Retry-After', async () => {
  let now = 0;
  const budget = 200;
  const queue = createHashingQueue({ maxConcurrent: 4, maxWaiting: 0, budgetMsPerSecond: budget, now: () => now });
  // Each task "hashes" for 50 ms of the clock; a login arrives every 10 ms for 20 simulated seconds.
  let hashedMs = 0;
  let shed = 0;
  let agreed = 0;
  while (now < 20_000) {
    now += 10;
    const predicted = queue.wouldShed();
    try {
      await queue.run(() => {
        now += 50;
        hashedMs += 50;
        return Promise.resolve();
      });
      if (predicted === undefined) agreed += 1;
    } catch (error) {
      assert.ok(error instanceof PasswordHashingBusyError);
      assert.ok(error.retryAfterSeconds >= 1 && error.retryAfterSeconds <= 30);
      if (predicted !== undefined) agreed += 1;
      shed += 1;
    }
  }
  const allowed = (budget * now) / 1000;
  // At most the budget plus the one-second burst and one task's overshoot; and the budget is used, not starved.
  assert.ok(hashedMs <= allowed + budget + 100, `hashed ${String(hashedMs)} ms of ${String(allowed)} allowed`);
  assert.ok(hashedMs >= 0.8 * allowed, `hashed only ${String(hashedMs)} ms of ${String(allowed)} allowed`);
  assert.ok(shed > 0);
  assert.equal(agreed, queue.stats().started + shed, 'wouldShed predicted every outcome');
  assert.equal(queue.stats().overBudget, shed, "every refusal was the budget's (4 slots, one task at a time)");
  // Idle for a while: the bucket refills and admits again.
  now += 5000;
  assert.equal(queue.wouldShed(), undefined);
  await queue.run(() => Promise.resolve());
});

test("the CPU budget charges real time: one slow task (PBKDF2-like) spends a second's budget and the next waits for the refill", async () => {
  let now = 0;
  const queue = createHashingQueue({ maxConcurrent: 2, maxWaiting: 8, budgetMsPerSecond: 250, now: () => now });
  await queue.run(() => {
    now += 750;
    return Promise.resolve();
  }); // 500 ms over the 250 in the bucket
  const error = await queue
    .run(() => Promise.resolve())
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(error instanceof PasswordHashingBusyError);
  // 250 in the bucket, 750 spent, 187.5 refilled while it ran: a 312.5 ms debt, 1.25 s at 250 ms/s.
  assert.equal(error.retryAfterSeconds, 2);
  now += 1200;
  assert.equal(queue.wouldShed(), 1, 'still 12.5 ms in debt');
  now += 100;
  assert.equal(queue.wouldShed(), undefined);
  assert.equal(queue.stats().overBudget, 1);
  assert.throws(() => createHashingQueue({ maxConcurrent: 1, maxWaiting: 0, budgetMsPerSecond: -1 }), RangeError);
});
