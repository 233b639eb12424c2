import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { HsmError, openPkcs11KeyWrapper } from '../../src/keys/pkcs11/index.js';
import { softhsmModulePath } from '../helpers/softhsm.js';

const secretPin = 'pin-7f3a-do-not-echo';

test('no PKCS#11 setting: no HSM configured', () => {
  assert.equal(loadConfig({}, '/srv').keys.pkcs11, null);
});

test('module, label and PIN file (relative paths resolve against cwd); or the PIN itself', () => {
  const fromFile = loadConfig(
    {
      CADUCEUS_PKCS11_MODULE: 'lib/hsm.so',
      CADUCEUS_PKCS11_TOKEN_LABEL: 'caduceus prod',
      CADUCEUS_PKCS11_PIN_FILE: 'secrets/pin',
    },
    '/srv',
  );
  assert.deepEqual(fromFile.keys.pkcs11, {
    modulePath: '/srv/lib/hsm.so',
    tokenLabel: 'caduceus prod',
    pin: { file: '/srv/secrets/pin' },
  });
  assert.ok(Object.isFrozen(fromFile.keys.pkcs11.pin));
  const fromValue = loadConfig(
    { CADUCEUS_PKCS11_MODULE: '/m.so', CADUCEUS_PKCS11_TOKEN_LABEL: 'x', CADUCEUS_PKCS11_PIN: secretPin },
    '/srv',
  );
  assert.deepEqual(fromValue.keys.pkcs11?.pin, { value: secretPin });
});

test('incomplete or contradictory PKCS#11 settings are refused, naming the setting, never echoing a value', () => {
  const module = { CADUCEUS_PKCS11_MODULE: '/opt/hsm/lib/secret-vendor.so' };
  const label = { CADUCEUS_PKCS11_TOKEN_LABEL: 'secret-label' };
  const cases: [Record<string, string>, string][] = [
    [{ CADUCEUS_PKCS11_PIN: secretPin }, 'CADUCEUS_PKCS11_MODULE'],
    [{ ...label, CADUCEUS_PKCS11_PIN_FILE: '/run/secrets/pin' }, 'CADUCEUS_PKCS11_MODULE'],
    [{ ...module, CADUCEUS_PKCS11_PIN: secretPin }, 'CADUCEUS_PKCS11_TOKEN_LABEL'],
    [
      {
        ...module,
        CADUCEUS_PKCS11_TOKEN_LABEL: 'a-label-longer-than-thirty-two-bytes',
        CADUCEUS_PKCS11_PIN: secretPin,
      },
      'CADUCEUS_PKCS11_TOKEN_LABEL',
    ],
    [
      { ...module, CADUCEUS_PKCS11_TOKEN_LABEL: ' padded', CADUCEUS_PKCS11_PIN: secretPin },
      'CADUCEUS_PKCS11_TOKEN_LABEL',
    ],
    [{ ...module, ...label }, 'CADUCEUS_PKCS11_PIN_FILE'],
    [
      { ...module, ...label, CADUCEUS_PKCS11_PIN: secretPin, CADUCEUS_PKCS11_PIN_FILE: '/run/secrets/pin' },
      'CADUCEUS_PKCS11_PIN_FILE',
    ],
    [{ ...module, ...label, CADUCEUS_PKCS11_PIN: `${secretPin}\nsecond line` }, 'CADUCEUS_PKCS11_PIN'],
  ];
  for (const [env, setting] of cases) {
    assert.throws(
      () => loadConfig(env, '/srv'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(error.message.includes(setting), `${error.message} names ${setting}`);
        for (const value of Object.values(env)) assert.ok(!error.message.includes(value.trim()), 'value not echoed');
        return true;
      },
    );
  }
});

async function refusal(options: Parameters<typeof openPkcs11KeyWrapper>[0], setting: string): Promise<void> {
  await assert.rejects(openPkcs11KeyWrapper(options), (error: unknown) => {
    assert.ok(error instanceof HsmError, String(error));
    assert.equal(error.kind, 'configuration');
    assert.ok(error.message.startsWith(`${setting}:`), error.message);
    assert.ok(!error.message.includes(secretPin));
    return true;
  });
}

test('opening: a missing module file, a file that is no PKCS#11 module, an unreadable or empty PIN file stop the start', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-pkcs11-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const notAModule = path.join(dir, 'not-a-module.so');
  await writeFile(notAModule, 'plain text, not an ELF shared object');
  const emptyPin = path.join(dir, 'empty-pin');
  await writeFile(emptyPin, '\n', { mode: 0o600 });
  const pin = { value: secretPin };

  await refusal({ modulePath: path.join(dir, 'absent.so'), tokenLabel: 'x', pin }, 'CADUCEUS_PKCS11_MODULE');
  await refusal({ modulePath: notAModule, tokenLabel: 'x', pin }, 'CADUCEUS_PKCS11_MODULE');
  // The PIN file is read before the module is touched: these need no HSM.
  await refusal(
    { modulePath: softhsmModulePath(), tokenLabel: 'x', pin: { file: path.join(dir, 'absent-pin') } },
    'CADUCEUS_PKCS11_PIN_FILE',
  );
  await refusal(
    { modulePath: softhsmModulePath(), tokenLabel: 'x', pin: { file: emptyPin } },
    'CADUCEUS_PKCS11_PIN_FILE',
  );
});

test("the loaded configuration opens the adapter as it is (config.keys.pkcs11 is the factory's options)", async () => {
  const config = loadConfig(
    {
      CADUCEUS_PKCS11_MODULE: 'no/such/module.so',
      CADUCEUS_PKCS11_TOKEN_LABEL: 'caduceus',
      CADUCEUS_PKCS11_PIN: secretPin,
    },
    tmpdir(),
  );
  assert.ok(config.keys.pkcs11 !== null);
  await refusal(config.keys.pkcs11, 'CADUCEUS_PKCS11_MODULE');
});
