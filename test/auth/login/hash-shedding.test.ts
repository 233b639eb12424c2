/**
 * Early shedding on the login page (src/auth/login/password-step.ts,
 * docs/users.md "The hashing queue"): when the hashing queue would refuse a
 * hash, the POST answers 503 with Retry-After after the CSRF check and
 * before the interaction lookup, the lockout and the audit, the same for a
 * known and an unknown username; once the queue frees, logins work and no
 * shed attempt was counted as a failure.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { until } from '../../helpers/until.js';
import { auditEvents, Browser, buildLoginApp } from './login-helpers.js';

const password = 'correct horse battery staple 42';

test('a full hashing queue sheds the login with 503 before any other work, for known and unknown users alike', async (t) => {
  const app = await buildLoginApp(t, {
    env: {
      CADUCEUS_PASSWORD_HASH_CONCURRENCY: '1',
      CADUCEUS_PASSWORD_HASH_QUEUE: '0',
      CADUCEUS_LOCKOUT_ACCOUNT_FAILURES: '2',
    },
  });
  // The directory's dummy hash (for unknown users) is made in the background at start: let it finish.
  const idle = (): Promise<void> =>
    until(() => app.users.queue.stats().active === 0, 30_000, 'an idle hashing queue', { intervalMs: 5 });
  await idle();
  const user = await app.users.admin.create({
    username: `billing-${randomUUID().slice(0, 8)}`,
    role: 'billing',
    password,
  });
  const browser = new Browser(app, randomUUID());
  assert.equal((await browser.get(`/interaction/${browser.uid}`)).statusCode, 200);
  const before = (await auditEvents(app)).length;

  await idle();
  const startedBefore = app.users.queue.stats().started;
  // Hold the only hashing slot, as a long hash would.
  let open = (): void => undefined;
  const held = app.users.queue.run(
    () =>
      new Promise<void>((resolve) => {
        open = resolve;
      }),
  );
  const url = `/interaction/${browser.uid}/login`;
  const known = await browser.post(url, { username: user.username, password: 'not-the-password-1' });
  const unknown = await browser.post(url, { username: 'nobody-at-all', password: 'not-the-password-1' });
  const right = await browser.post(url, { username: user.username, password });
  for (const answer of [known, unknown, right]) {
    assert.equal(answer.statusCode, 503);
    assert.match(String(answer.headers['retry-after']), /^[1-9]\d*$/);
    assert.match(answer.body, /The service is busy/);
    assert.match(answer.body, /name="csrf" value="[^"]+"/, 'the form comes back, ready to resend');
    assert.doesNotMatch(answer.body, /not-the-password|correct horse/);
  }
  assert.equal(
    known.body.replace(user.username, 'X'),
    unknown.body.replace('nobody-at-all', 'X'),
    'a known and an unknown user read the same',
  );

  // Before the interaction lookup: without the interaction cookie the flow would answer 400 "Sign-in expired".
  const interaction = browser.cookies.get('test_interaction') ?? '';
  browser.cookies.delete('test_interaction');
  assert.equal((await browser.post(url, { username: user.username, password })).statusCode, 503);
  browser.cookies.set('test_interaction', interaction);
  // But after the CSRF check: a forged post is still refused as one.
  assert.equal((await browser.post(url, { username: user.username, password }, 'A'.repeat(43))).statusCode, 403);

  open();
  await held;
  assert.equal((await auditEvents(app)).length, before, 'nothing was audited for a shed login');
  assert.equal(app.users.queue.stats().started, startedBefore + 1, 'no hash ran for a shed login, only the held one');
  // Three shed wrong passwords were not failures: one more wrong one does not reach the lock of 2.
  const wrong = await browser.post(url, { username: user.username, password: 'not-the-password-2' });
  assert.equal(wrong.statusCode, 401);
  const ok = await browser.post(url, { username: user.username, password });
  assert.equal(ok.statusCode, 303);
  assert.equal(app.finished.length, 1);
});
