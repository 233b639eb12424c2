import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { isApiError } from '../../src/errors/index.js';
import { createBreakers, withLocalFallback } from '../../src/lib/circuit-breaker.js';
import { createSecurityEvents, type SecurityEvent } from '../../src/lib/security-events.js';

function setup(): { breakers: ReturnType<typeof createBreakers>; seen: SecurityEvent[] } {
  const events = createSecurityEvents(pino({ level: 'silent' }));
  const seen: SecurityEvent[] = [];
  events.subscribe((event) => {
    seen.push(event);
  });
  return { breakers: createBreakers(events), seen };
}

const failing = (): Promise<never> => Promise.reject(new Error('connection refused'));

test('failures open the breaker; while open calls are refused at once with 503 and Retry-After; a good trial closes it', async (t) => {
  // opossum times the reset with setTimeout and Retry-After with Date: both fake, moved by hand, before the breaker exists.
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: Date.parse('2025-01-14T10:00:00.000Z') });
  const { breakers, seen } = setup();
  t.after(() => {
    breakers.shutdown();
  });
  const breaker = breakers.create({ name: 'postgres', timeoutMs: 1_000, resetMs: 300, volumeThreshold: 3 });
  const states: string[] = [];
  breakers.onStateChange((name, state) => {
    states.push(`${name}:${state}`);
  });
  for (let i = 0; i < 3; i += 1) await assert.rejects(breaker.run(failing), /connection refused/);
  assert.equal(breaker.state, 'open');

  let called = false;
  await assert.rejects(
    breaker.run(() => {
      called = true;
      return Promise.resolve(1);
    }),
    (error: unknown) => {
      assert.ok(isApiError(error));
      assert.equal(error.status, 503);
      assert.equal(error.code, 'SERVICE_UNAVAILABLE');
      // 300 ms of reset left: rounded up to one whole second.
      assert.equal(error.headers['Retry-After'], '1');
      return true;
    },
  );
  assert.equal(called, false, 'an open breaker does not call the dependency');

  t.mock.timers.tick(299);
  assert.equal(breaker.state, 'open', 'still open 1 ms before the reset time');
  t.mock.timers.tick(1);
  assert.equal(breaker.state, 'half-open');
  assert.equal(await breaker.run(() => Promise.resolve('ok')), 'ok');
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(states, ['postgres:open', 'postgres:half-open', 'postgres:closed']);
  assert.deepEqual(
    seen.map((event) => [event.kind, event.details.state]),
    [
      ['breaker.state_changed', 'open'],
      ['breaker.state_changed', 'half-open'],
      ['breaker.state_changed', 'closed'],
    ],
  );
});

test('a call slower than the timeout answers 503, and caller errors do not count against the dependency', async (t) => {
  const { breakers } = setup();
  t.after(() => {
    breakers.shutdown();
  });
  const breaker = breakers.create({
    name: 'redis',
    timeoutMs: 50,
    resetMs: 10_000,
    volumeThreshold: 2,
    isCallerError: (error) => error instanceof Error && error.message === 'version conflict',
  });
  await assert.rejects(
    breaker.run(() => new Promise((resolve) => setTimeout(resolve, 500))),
    (error: unknown) => isApiError(error) && error.status === 503,
  );
  for (let i = 0; i < 5; i += 1)
    await assert.rejects(
      breaker.run(() => Promise.reject(new Error('version conflict'))),
      /version conflict/,
    );
  assert.equal(breaker.state, 'closed');
  assert.throws(() => breakers.create({ name: 'redis', timeoutMs: 1, resetMs: 1 }), /exists/);
  assert.deepEqual(
    breakers.list().map((b) => b.name),
    ['redis'],
  );
});

test('withLocalFallback: failures go to the fallback; the loss and the recovery are each logged once', async (t) => {
  const { breakers } = setup();
  t.after(() => {
    breakers.shutdown();
  });
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        lines.push((JSON.parse(line) as { event: string }).event);
      },
    },
  );
  const attempt = withLocalFallback(
    breakers.create({ name: 'redis', timeoutMs: 1_000, resetMs: 10_000, volumeThreshold: 100 }),
    logger,
    {
      lost: { event: 'x.lost', message: 'lost' },
      restored: { event: 'x.restored', message: 'restored' },
    },
  );
  let shared = false;
  const call = () =>
    attempt(
      () => (shared ? Promise.resolve('shared') : Promise.reject(new Error('down'))),
      (error) => Promise.resolve(`local after ${(error as Error).message}`),
    );
  assert.equal(await call(), 'local after down');
  assert.equal(await call(), 'local after down');
  shared = true;
  assert.equal(await call(), 'shared');
  assert.equal(await call(), 'shared');
  assert.deepEqual(lines, ['x.lost', 'x.restored']);
});
