import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { acrValues } from '../../../src/auth/oidc/facade.js';
import { assertNoInlineScript, auditEvents, Browser, buildLoginApp, totpCode, type LoginApp } from './login-helpers.js';

const password = 'correct horse battery staple 42';

async function createUser(app: LoginApp, role: string, username = `${role}-${randomUUID().slice(0, 8)}`) {
  return app.users.admin.create({ username, role, password });
}

/** Enrols TOTP for a new user of `role` through the pages; returns the seed and the browser that finished. */
async function enrolTotp(app: LoginApp, username: string) {
  const browser = new Browser(app, randomUUID());
  const login = await browser.login(username, password);
  assert.equal(login.statusCode, 303);
  assert.equal(login.headers.location, `/interaction/${browser.uid}/enrol`);
  const page = await browser.get(`/interaction/${browser.uid}/enrol`);
  const secret = (/<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)?.[1] ?? '').replaceAll(' ', '');
  return { browser, page, secret };
}

test('the login page: fields, CSRF token, CSP with script-src self, security headers, no inline script, values escaped', async (t) => {
  const app = await buildLoginApp(t);
  const browser = new Browser(app, randomUUID());
  const page = await browser.get(`/interaction/${browser.uid}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.equal(
    page.headers['content-security-policy'],
    "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; script-src 'self'",
  );
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.match(page.body, /name="username"/);
  assert.match(page.body, /name="password" type="password"/);
  assert.match(page.body, /name="csrf" value="[A-Za-z0-9_-]{43}"/);
  assertNoInlineScript(page.body);
  assert.match(page.body, /Test &lt;App&gt; &quot;quoted&quot;/, 'the client name is escaped');
  assert.match(
    String(page.headers['set-cookie']),
    /^__Host-caduceus-login=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
  );
  const script = await app.app.inject({ method: 'GET', url: '/assets/login/passkey.js' });
  assert.equal(script.statusCode, 200);
  assert.match(script.headers['content-type'] as string, /^text\/javascript/);
  const bundle = await app.app.inject({ method: 'GET', url: '/assets/login/simplewebauthn-browser.js' });
  assert.match(bundle.body, /SimpleWebAuthnBrowser/);
  assert.equal((await app.app.inject({ method: 'GET', url: '/assets/login/nope.js' })).statusCode, 404);
  // Without the interaction cookie: a start-again page, not the form.
  const stale = await app.app.inject({ method: 'GET', url: `/interaction/${randomUUID()}` });
  assert.equal(stale.statusCode, 400);
  assert.doesNotMatch(stale.body, /name="password"/);
});

test('CSRF: a missing, wrong or other-browser token is refused before the password is checked', async (t) => {
  const app = await buildLoginApp(t, { env: { CADUCEUS_LOCKOUT_ACCOUNT_FAILURES: '2' } });
  const user = await createUser(app, 'billing');
  const browser = new Browser(app, randomUUID());
  await browser.get(`/interaction/${browser.uid}`);
  const missing = await browser.post(
    `/interaction/${browser.uid}/login`,
    { username: user.username, password: 'wrong-password-x' },
    null,
  );
  assert.equal(missing.statusCode, 403);
  const wrong = await browser.post(
    `/interaction/${browser.uid}/login`,
    { username: user.username, password: 'wrong-password-x' },
    'A'.repeat(43),
  );
  assert.equal(wrong.statusCode, 403);
  // A token minted for another browser (the attacker's own) does not match this browser's cookie.
  const attacker = new Browser(app, browser.uid);
  await attacker.get(`/interaction/${browser.uid}`);
  const foreign = await browser.post(
    `/interaction/${browser.uid}/login`,
    { username: user.username, password },
    attacker.csrf,
  );
  assert.equal(foreign.statusCode, 403);
  // Nor does a token of another interaction in the same browser.
  const other = new Browser(app, randomUUID());
  await other.get(`/interaction/${other.uid}`);
  const crossed = await other.post(
    `/interaction/${other.uid}/login`,
    { username: user.username, password },
    browser.csrf,
  );
  assert.equal(crossed.statusCode, 403);
  // The passkey calls (JSON) need the token in x-csrf-token.
  const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  for (const headers of [{ cookie }, { cookie, 'x-csrf-token': attacker.csrf }]) {
    const refused = await app.app.inject({
      method: 'POST',
      url: `/interaction/${browser.uid}/passkey/options`,
      payload: { purpose: 'login' },
      headers,
    });
    assert.equal(refused.statusCode, 403);
  }
  const options = await app.app.inject({
    method: 'POST',
    url: `/interaction/${browser.uid}/passkey/options`,
    payload: { purpose: 'login' },
    headers: { cookie, 'x-csrf-token': browser.csrf },
  });
  assert.equal(options.statusCode, 200);
  assert.equal(options.json<{ options: { rpId: string } }>().options.rpId, 'localhost');
  // The refused posts were never password attempts: no lockout, and the right password still works.
  const ok = await browser.post(`/interaction/${browser.uid}/login`, { username: user.username, password });
  assert.equal(ok.statusCode, 303);
  assert.equal(app.finished.length, 1);
});

test('a wrong password answers 401 and is audited with its reason; the lockout is visible as 429 with Retry-After', async (t) => {
  const app = await buildLoginApp(t, { env: { CADUCEUS_LOCKOUT_ACCOUNT_FAILURES: '3' } });
  const user = await createUser(app, 'billing');
  const browser = new Browser(app, randomUUID());
  const first = await browser.login(user.username, 'not-the-password-1');
  assert.equal(first.statusCode, 401);
  assert.match(first.body, /The username or password is wrong/);
  assert.match(first.body, new RegExp(`value="${user.username}"`), 'the username is kept, the password is not');
  assert.doesNotMatch(first.body, /not-the-password-1/);
  const unknown = await browser.post(`/interaction/${browser.uid}/login`, {
    username: 'nobody-at-all',
    password: 'not-the-password-1',
  });
  assert.equal(unknown.statusCode, 401);
  assert.match(unknown.body, /The username or password is wrong/, 'an unknown user reads the same');
  let last = first;
  for (let i = 0; i < 3; i += 1)
    last = await browser.post(`/interaction/${browser.uid}/login`, {
      username: user.username,
      password: 'not-the-password-2',
    });
  assert.equal(last.statusCode, 429);
  assert.match(last.body, /Too many failed sign-ins/);
  assert.match(String(last.headers['retry-after']), /^\d+$/);
  const locked = await browser.post(`/interaction/${browser.uid}/login`, { username: user.username, password });
  assert.equal(locked.statusCode, 429, 'even the right password waits out the lockout');
  const events = await auditEvents(app);
  const failures = events.filter((e) => e.action.interaction === 'login.password' && e.outcome.code !== null);
  assert.ok(failures.some((e) => e.outcome.code === 'invalid_credentials' && e.outcome.status === 401));
  assert.ok(failures.some((e) => e.outcome.code === 'locked' && e.outcome.status === 429));
  assert.ok(failures.every((e) => e.category === 'auth' && /^u:[0-9a-f]{32}$/.test(String(e.action.details?.account))));
  const text = JSON.stringify(events);
  assert.doesNotMatch(text, /not-the-password|correct horse/);
  assert.ok(
    app.securityEvents.some((e) => e.kind === 'auth.failed'),
    'failures reach monitoring',
  );
});

test('a role outside CADUCEUS_MFA_ROLES finishes with the password alone: amr pwd, acr pwd', async (t) => {
  const app = await buildLoginApp(t);
  const user = await createUser(app, 'billing');
  const browser = new Browser(app, randomUUID());
  const response = await browser.login(user.username, password);
  assert.equal(response.statusCode, 303);
  assert.equal(response.headers.location, `https://client.example/callback?done=${browser.uid}`);
  assert.deepEqual(app.finished[0]?.result, { accountId: user.id, amr: ['pwd'], acr: acrValues.password });
});

test('TOTP enrolment is forced for a clinician: QR code as inline SVG, secret as text, one-time recovery codes, amr with otp and mfa', async (t) => {
  const app = await buildLoginApp(t);
  const user = await createUser(app, 'clinician');
  const { browser, page, secret } = await enrolTotp(app, user.username);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<path/s);
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.match(page.body, /name="code"/);
  assertNoInlineScript(page.body);
  const wrong = await browser.post(`/interaction/${browser.uid}/enrol/totp`, {
    code: '000000' === totpCode(secret) ? '111111' : '000000',
  });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /The code is wrong/);
  const ok = await browser.post(`/interaction/${browser.uid}/enrol/totp`, { code: totpCode(secret) });
  assert.equal(ok.statusCode, 303);
  assert.equal(ok.headers.location, `/interaction/${browser.uid}/recovery-codes`);
  const codesPage = await browser.get(`/interaction/${browser.uid}/recovery-codes`);
  const codes = [...codesPage.body.matchAll(/<li><code>([A-Z0-9-]{14})<\/code><\/li>/g)].map((m) => m[1]);
  assert.equal(codes.length, 10);
  assert.equal(
    codesPage.headers['content-security-policy'],
    "default-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
  const again = await browser.get(`/interaction/${browser.uid}/recovery-codes`);
  assert.doesNotMatch(again.body, /<li><code>/, 'shown once');
  const done = await browser.post(`/interaction/${browser.uid}/continue`, {});
  assert.equal(done.statusCode, 303);
  assert.deepEqual(app.finished.at(-1)?.result, { accountId: user.id, amr: ['pwd', 'otp', 'mfa'], acr: acrValues.mfa });
  // At rest: the seed only sealed, the codes only hashed.
  const [factor] = await app.db.mfaFactors.listByUser(user.id);
  assert.equal(factor?.kind, 'totp');
  assert.ok(!Buffer.from(factor.sealed).toString('latin1').includes(secret));
  const events = await auditEvents(app);
  assert.ok(
    events.some((e) => e.action.interaction === 'mfa.enrol' && e.outcome.status === 303 && e.actor.subject === user.id),
  );
  const text = JSON.stringify(events);
  assert.ok(!text.includes(secret) && codes.every((code) => !text.includes(code!)));
});

test('TOTP at login: wrong code 401, a code used once is refused when replayed, a fresh code logs in', async (t) => {
  const app = await buildLoginApp(t);
  const user = await createUser(app, 'nurse');
  const { browser, secret } = await enrolTotp(app, user.username);
  const enrolCode = totpCode(secret);
  await browser.post(`/interaction/${browser.uid}/enrol/totp`, { code: enrolCode });
  const second = new Browser(app, randomUUID());
  const login = await second.login(user.username, password);
  assert.equal(login.headers.location, `/interaction/${second.uid}/mfa`);
  const mfa = await second.get(`/interaction/${second.uid}/mfa`);
  assert.match(mfa.body, /name="code"/);
  assert.match(mfa.body, /Use a recovery code/);
  assertNoInlineScript(mfa.body);
  assertNoInlineScript((await second.get(`/interaction/${second.uid}/mfa/recovery`)).body);
  // Nor can a passkey be registered next to the existing factor.
  const register = await app.app.inject({
    method: 'POST',
    url: `/interaction/${second.uid}/passkey/options`,
    payload: { purpose: 'register' },
    headers: { cookie: [...second.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': second.csrf },
  });
  assert.equal(register.statusCode, 303);
  assert.equal(register.headers.location, `/interaction/${second.uid}/mfa`);
  // Enrolment is closed once a factor exists: the password alone cannot add a second seed.
  const enrol = await second.get(`/interaction/${second.uid}/enrol`);
  assert.equal(enrol.headers.location, `/interaction/${second.uid}/mfa`);
  const wrong = await second.post(`/interaction/${second.uid}/mfa/totp`, { code: '12345x' });
  assert.equal(wrong.statusCode, 401);
  const replayed = await second.post(`/interaction/${second.uid}/mfa/totp`, { code: enrolCode });
  assert.equal(replayed.statusCode, 401);
  assert.match(replayed.body, /used already/);
  const ok = await second.post(`/interaction/${second.uid}/mfa/totp`, { code: totpCode(secret, 1) });
  assert.equal(ok.statusCode, 303);
  assert.deepEqual(app.finished.at(-1)?.result, { accountId: user.id, amr: ['pwd', 'otp', 'mfa'], acr: acrValues.mfa });
  const reasons = (await auditEvents(app))
    .filter((e) => e.action.interaction === 'mfa.verify')
    .map((e) => e.outcome.code);
  assert.deepEqual(reasons, ['invalid_code', 'replayed_code', null]);
});

test('recovery codes: each works once instead of the second factor, and use is audited', async (t) => {
  const app = await buildLoginApp(t);
  const user = await createUser(app, 'auditor');
  const { browser, secret } = await enrolTotp(app, user.username);
  await browser.post(`/interaction/${browser.uid}/enrol/totp`, { code: totpCode(secret) });
  const codes = [
    ...(await browser.get(`/interaction/${browser.uid}/recovery-codes`)).body.matchAll(
      /<code>([A-Z0-9-]{14})<\/code>/g,
    ),
  ].map((m) => m[1]!);
  const second = new Browser(app, randomUUID());
  await second.login(user.username, password);
  await second.get(`/interaction/${second.uid}/mfa/recovery`);
  const ok = await second.post(`/interaction/${second.uid}/mfa/recovery`, { code: codes[0]!.toLowerCase() });
  assert.equal(ok.statusCode, 303);
  assert.deepEqual(app.finished.at(-1)?.result.amr, ['pwd', 'otp', 'mfa']);
  const third = new Browser(app, randomUUID());
  await third.login(user.username, password);
  await third.get(`/interaction/${third.uid}/mfa/recovery`);
  const reused = await third.post(`/interaction/${third.uid}/mfa/recovery`, { code: codes[0]! });
  assert.equal(reused.statusCode, 401);
  const events = (await auditEvents(app)).filter((e) => e.action.interaction === 'mfa.recovery_code');
  assert.deepEqual(
    events.map((e) => [e.outcome.status, e.action.details?.remaining ?? null]),
    [
      [303, 9],
      [401, null],
    ],
  );
});

test('five wrong codes end the interaction with 429 and an mfa_locked event', async (t) => {
  const app = await buildLoginApp(t);
  const user = await createUser(app, 'admin');
  const { browser, secret } = await enrolTotp(app, user.username);
  await browser.post(`/interaction/${browser.uid}/enrol/totp`, { code: totpCode(secret) });
  const second = new Browser(app, randomUUID());
  await second.login(user.username, password);
  await second.get(`/interaction/${second.uid}/mfa`);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1)
    statuses.push((await second.post(`/interaction/${second.uid}/mfa/totp`, { code: 'abcdef' })).statusCode);
  assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
  const after = await second.post(`/interaction/${second.uid}/mfa/totp`, { code: totpCode(secret, 1) });
  assert.equal(after.statusCode, 303);
  assert.equal(after.headers.location, `/interaction/${second.uid}`, 'the interaction must start again');
  assert.ok((await auditEvents(app)).some((e) => e.outcome.code === 'mfa_locked'));
});

test('idle timeout: a login left untouched past CADUCEUS_SESSION_IDLE_SECONDS is logged off; pages refresh to the timeout page', async (t) => {
  const app = await buildLoginApp(t, {
    env: { CADUCEUS_SESSION_IDLE_SECONDS: '120', CADUCEUS_SESSION_ABSOLUTE_SECONDS: '600' },
  });
  const user = await createUser(app, 'clinician');
  const browser = new Browser(app, randomUUID());
  await browser.login(user.username, password);
  const enrol = await browser.get(`/interaction/${browser.uid}/enrol`);
  assert.equal(enrol.statusCode, 200);
  assert.match(
    enrol.body,
    new RegExp(`<meta http-equiv="refresh" content="120;url=/interaction/${browser.uid}/timeout">`),
  );
  app.advance(121_000);
  const expired = await browser.get(`/interaction/${browser.uid}/enrol`);
  assert.equal(expired.statusCode, 303);
  assert.equal(expired.headers.location, `/interaction/${browser.uid}`);
  const timeout = await browser.get(`/interaction/${browser.uid}/timeout`);
  assert.match(timeout.body, /signed out/);
});

test('absolute timeout: activity does not keep a login alive past CADUCEUS_SESSION_ABSOLUTE_SECONDS', async (t) => {
  const app = await buildLoginApp(t, {
    env: { CADUCEUS_SESSION_IDLE_SECONDS: '120', CADUCEUS_SESSION_ABSOLUTE_SECONDS: '300' },
  });
  const user = await createUser(app, 'clinician');
  const browser = new Browser(app, randomUUID());
  await browser.login(user.username, password);
  for (let i = 0; i < 3; i += 1) {
    app.advance(90_000);
    assert.equal(
      (await browser.get(`/interaction/${browser.uid}/enrol`)).statusCode,
      200,
      `still active after ${(i + 1) * 90} s`,
    );
  }
  app.advance(40_000);
  assert.equal((await browser.get(`/interaction/${browser.uid}/enrol`)).statusCode, 303);
});

test('acr_values asking for MFA send even a billing user to enrolment', async (t) => {
  const app = await buildLoginApp(t, { acrValues: [acrValues.mfa] });
  const user = await createUser(app, 'billing');
  const browser = new Browser(app, randomUUID());
  const response = await browser.login(user.username, password);
  assert.equal(response.headers.location, `/interaction/${browser.uid}/enrol`);
});

test('an interaction that expired before the last step answers a start-again page and records no login success', async (t) => {
  const app = await buildLoginApp(t);
  const user = await createUser(app, 'billing');
  const browser = new Browser(app, randomUUID());
  app.expired.add(browser.uid);
  const response = await browser.login(user.username, password);
  assert.equal(response.statusCode, 400);
  assert.match(response.body, /start again/);
  assert.equal(app.finished.length, 0);
  assert.ok(!(await auditEvents(app)).some((e) => e.action.interaction === 'login.success'));
});
