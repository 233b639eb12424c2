import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { pino } from 'pino';
import { checkTotp, generateRecoveryCodes, generateTotpSecret, hashRecoveryCode } from '../../../src/auth/mfa/index.js';
import { openFactorSecret, sealFactorSecret } from '../../../src/auth/mfa/factor-seal.js';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { createBreakers } from '../../../src/lib/circuit-breaker.js';
import { openKeyProtection } from '../../../src/keys/envelope/index.js';
import { resolveMasterKey } from '../../../src/keys/local/index.js';
import { createSecurityEvents } from '../../../src/lib/security-events.js';
import { openDatabase } from '../../../src/storage/open.js';
import { escapeHtml, html, trustedSvg } from '../../../src/lib/html.js';
import { openTestDatabase, postgresSkip } from '../../helpers/database.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

test('html: every interpolated value is escaped, fragments are not escaped twice, only plain SVG is trusted', () => {
  assert.equal(
    escapeHtml(`<a href="x" onclick='y'>&=\``),
    '&lt;a href&#61;&quot;x&quot; onclick&#61;&#39;y&#39;&gt;&amp;&#61;&#96;',
  );
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(
    html`<p title="${'" onmouseover="x'}">${inner}${['<', 1, null, false]}</p>`.toString(),
    '<p title="&quot; onmouseover&#61;&quot;x"><b>&lt;i&gt;</b>&lt;1</p>',
  );
  assert.throws(() => trustedSvg('<svg><script>alert(1)</script></svg>'), TypeError);
  assert.throws(() => trustedSvg('<svg onload="x"></svg>'), TypeError);
  assert.throws(() => trustedSvg('<img src=x>'), TypeError);
});

test('TOTP (RFC 6238): one step of drift either way, six digits only, and each step accepted once even across processes', async (t) => {
  const shared = await openTestDatabase('sqlite');
  t.after(() => shared.cleanup());
  const other = await openDatabase(shared.url);
  t.after(() => other.close());
  const secret = generateTotpSecret();
  const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) });
  const now = Date.now();
  const at = (steps: number) => totp.generate({ timestamp: now + steps * 30_000 });
  assert.equal(await checkTotp(shared.db.kv, 'f1', secret, at(2), now), 'invalid', 'two steps ahead');
  assert.equal(await checkTotp(shared.db.kv, 'f1', secret, at(-2), now), 'invalid', 'two steps behind');
  assert.equal(await checkTotp(shared.db.kv, 'f1', secret, `${at(0)}0`, now), 'invalid');
  assert.equal(await checkTotp(shared.db.kv, 'f1', secret, 'abcdef', now), 'invalid');
  assert.equal(await checkTotp(shared.db.kv, 'f1', secret, at(-1), now), 'ok');
  assert.equal(await checkTotp(other.kv, 'f1', secret, at(-1), now), 'replayed', 'another process sees it spent');
  assert.equal(await checkTotp(shared.db.kv, 'f2', secret, at(-1), now), 'ok', 'the replay key is per factor');
  const results = await Promise.all([
    checkTotp(shared.db.kv, 'f1', secret, at(1), now),
    checkTotp(other.kv, 'f1', secret, at(1), now),
  ]);
  assert.deepEqual(results.sort(), ['ok', 'replayed']);
});

test(
  'TOTP replay cache on PostgreSQL: two processes racing with one code, exactly one accepts',
  { skip: await postgresSkip() },
  async (t) => {
    const shared = await openTestDatabase('postgres');
    t.after(() => shared.cleanup());
    const other = await openDatabase(shared.url);
    t.after(() => other.close());
    const secret = generateTotpSecret();
    const code = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate();
    const results = await Promise.all([
      checkTotp(shared.db.kv, 'pg', secret, code),
      checkTotp(other.kv, 'pg', secret, code),
      checkTotp(other.kv, 'pg', secret, code),
    ]);
    assert.deepEqual(results.sort(), ['ok', 'replayed', 'replayed']);
  },
);

test('recovery codes: ten, distinct, readable; the hash ignores case, spaces and dashes', () => {
  const codes = generateRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
  const [code = ''] = codes;
  assert.equal(hashRecoveryCode(code.toLowerCase().replaceAll('-', ' ')), hashRecoveryCode(code));
  assert.notEqual(hashRecoveryCode(code), hashRecoveryCode(codes[1] ?? ''));
  assert.match(hashRecoveryCode(code), /^[0-9a-f]{64}$/);
});

test('a sealed factor secret opens only for its own user and factor (the AAD binds both)', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-seal-'));
  const shared = await openTestDatabase('sqlite');
  const config = loadConfig({ CADUCEUS_DATA_DIR: dir, CADUCEUS_LOG_LEVEL: 'silent' }, dir);
  const logger = pino({ level: 'silent' });
  const breakers = createBreakers(createSecurityEvents(logger));
  const masterKey = (await resolveMasterKey({ ...config.keys.masterKey, production: false }, logger)).key;
  const protection = await openKeyProtection(config, { masterKey, dataKeys: shared.db.dataKeys, breakers, logger });
  t.after(async () => {
    await protection.close();
    breakers.shutdown();
    await shared.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const sealed = await sealFactorSecret(protection.sealer, 'user-a', 'factor-1', 'JBSWY3DPEHPK3PXP');
  assert.ok(!Buffer.from(sealed).toString('latin1').includes('JBSWY3DPEHPK3PXP'));
  assert.equal(await openFactorSecret(protection.sealer, 'user-a', 'factor-1', sealed), 'JBSWY3DPEHPK3PXP');
  await assert.rejects(openFactorSecret(protection.sealer, 'user-b', 'factor-1', sealed), { name: 'IntegrityError' });
  await assert.rejects(openFactorSecret(protection.sealer, 'user-a', 'factor-2', sealed), { name: 'IntegrityError' });
  // Length-prefixed ids: ('user-a:x', 'y') and ('user-a', 'x:y') are different contexts.
  const tricky = await sealFactorSecret(protection.sealer, 'u:x', 'y', 's');
  await assert.rejects(openFactorSecret(protection.sealer, 'u', 'x:y', tricky), { name: 'IntegrityError' });
});

test('CADUCEUS_MFA_ROLES, session timeouts and the WebAuthn relying party are validated settings', () => {
  const base = { CADUCEUS_DATA_DIR: '/tmp/caduceus-login-config' };
  assert.deepEqual(loadConfig(base).login.mfaRoles, ['admin', 'clinician', 'nurse', 'auditor']);
  assert.deepEqual(loadConfig({ ...base, CADUCEUS_MFA_ROLES: 'none' }).login.mfaRoles, []);
  assert.deepEqual(loadConfig({ ...base, CADUCEUS_MFA_ROLES: 'admin, billing,admin' }).login.mfaRoles, [
    'admin',
    'billing',
  ]);
  assert.throws(
    () => loadConfig({ ...base, CADUCEUS_MFA_ROLES: 'admin,wizard' }),
    (error: unknown) => error instanceof ConfigError && !error.message.includes('wizard'),
  );
  assert.throws(
    () => loadConfig({ ...base, CADUCEUS_SESSION_IDLE_SECONDS: '7200', CADUCEUS_SESSION_ABSOLUTE_SECONDS: '3600' }),
    ConfigError,
  );
  const login = loadConfig({ ...base, CADUCEUS_ISSUER: 'https://id.hospital.example:8443' }).login;
  assert.deepEqual(login.webauthn, {
    rpId: 'id.hospital.example',
    origin: 'https://id.hospital.example:8443',
    rpName: 'Caduceus',
  });
  assert.equal(
    loadConfig({ ...base, CADUCEUS_ISSUER: 'https://id.hospital.example', CADUCEUS_WEBAUTHN_RP_ID: 'hospital.example' })
      .login.webauthn.rpId,
    'hospital.example',
  );
  assert.throws(
    () =>
      loadConfig({ ...base, CADUCEUS_ISSUER: 'https://id.hospital.example', CADUCEUS_WEBAUTHN_RP_ID: 'evil.example' }),
    ConfigError,
  );
});
