import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from './until.js';

test('until resolves once the condition holds, sync or async', async () => {
  let checks = 0;
  await until(() => (checks += 1) >= 3, 5_000, 'the third check', { intervalMs: 1 });
  assert.equal(checks, 3);
  let asyncChecks = 0;
  await until(() => Promise.resolve((asyncChecks += 1) >= 2), 5_000, 'the second check', { intervalMs: 1 });
  assert.equal(asyncChecks, 2);
});

test('until rejects naming what it waited for once the deadline has passed', async () => {
  const started = performance.now();
  await assert.rejects(
    until(() => false, 50, 'a state that never comes'),
    {
      message: 'timed out after 50 ms waiting for a state that never comes',
    },
  );
  assert.ok(performance.now() - started >= 50);
});

test('until polls in real time while the test has mocked the timers and Date', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  let ready = false;
  // A real-time event the poll must see: nothing ticks the fake clock meanwhile.
  setImmediate(() => {
    ready = true;
  });
  await until(() => ready, 5_000, 'the real-time event');
  await assert.rejects(
    until(() => false, 30, 'nothing'),
    /timed out after 30 ms/,
  );
});
