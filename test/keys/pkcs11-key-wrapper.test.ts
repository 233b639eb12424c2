import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import pkcs11js from 'pkcs11js';
import {
  HsmError,
  kekLabelPrefix,
  openPkcs11KeyWrapper,
  type Pkcs11KeyWrapperOptions,
} from '../../src/keys/pkcs11/index.js';
import type { KeyWrapper } from '../../src/keys/ports.js';
import { repoRoot } from '../helpers/process.js';
import { ckrOf, openRawSession, setUpSoftHsm, softhsmSkip, type TestToken } from '../helpers/softhsm.js';
import { keyWrapperContract } from './contract-key-wrapper.js';

const execFileAsync = promisify(execFile);
const skip = await softhsmSkip();
const hsm = skip === false ? await setUpSoftHsm() : undefined;
after(() => hsm?.cleanup());

/** Every handle a test opens, closed after it (close is idempotent). */
function opener(
  token: TestToken,
  extra: Partial<Pkcs11KeyWrapperOptions> = {},
): { open: () => Promise<KeyWrapper>; closeAll: () => Promise<void> } {
  const opened: KeyWrapper[] = [];
  return {
    open: async () => {
      const wrapper = await openPkcs11KeyWrapper({
        modulePath: hsm!.modulePath,
        tokenLabel: token.label,
        pin: { value: token.pin },
        ...extra,
      });
      opened.push(wrapper);
      return wrapper;
    },
    closeAll: async () => {
      for (const wrapper of opened) await wrapper.close();
    },
  };
}

keyWrapperContract(
  'pkcs11',
  async () => {
    const handles = opener(await hsm!.createToken());
    return { open: handles.open, reopen: handles.open, cleanup: handles.closeAll };
  },
  { skip },
);

function isTrue(value: Buffer): boolean {
  return value.length === 1 && value[0] === 1;
}

test(
  'pkcs11: every KEK is an AES-256 token key that is sensitive, never extractable and generated on the token',
  { skip },
  async (t) => {
    const token = await hsm!.createToken();
    const handles = opener(token);
    t.after(() => handles.closeAll());
    const wrapper = await handles.open();
    await wrapper.rotate();
    const ids = await wrapper.kekIds();
    await wrapper.close();

    const raw = openRawSession(hsm!.modulePath, token);
    t.after(() => {
      raw.close();
    });
    const { api, session } = raw;
    for (const id of ids) {
      const [kek, ...others] = raw.findByLabel(`${kekLabelPrefix}${id}`);
      assert.ok(kek !== undefined && others.length === 0, 'exactly one object carries the KEK label');
      assert.equal(raw.attribute(kek, pkcs11js.CKA_ID).toString('utf8'), id);
      assert.equal(raw.attribute(kek, pkcs11js.CKA_CLASS).readUInt32LE(0), pkcs11js.CKO_SECRET_KEY);
      assert.equal(raw.attribute(kek, pkcs11js.CKA_KEY_TYPE).readUInt32LE(0), pkcs11js.CKK_AES);
      assert.equal(raw.attribute(kek, pkcs11js.CKA_VALUE_LEN).readUInt32LE(0), 32);
      for (const [name, type, expected] of [
        ['CKA_TOKEN', pkcs11js.CKA_TOKEN, true],
        ['CKA_PRIVATE', pkcs11js.CKA_PRIVATE, true],
        ['CKA_SENSITIVE', pkcs11js.CKA_SENSITIVE, true],
        ['CKA_ALWAYS_SENSITIVE', pkcs11js.CKA_ALWAYS_SENSITIVE, true],
        ['CKA_EXTRACTABLE', pkcs11js.CKA_EXTRACTABLE, false],
        ['CKA_NEVER_EXTRACTABLE', pkcs11js.CKA_NEVER_EXTRACTABLE, true],
        ['CKA_LOCAL', pkcs11js.CKA_LOCAL, true],
        ['CKA_WRAP', pkcs11js.CKA_WRAP, false],
        ['CKA_UNWRAP', pkcs11js.CKA_UNWRAP, false],
      ] as const) {
        assert.equal(isTrue(raw.attribute(kek, type)), expected, name);
      }
      // Its value cannot be read...
      assert.throws(
        () => api.C_GetAttributeValue(session, kek, [{ type: pkcs11js.CKA_VALUE }]),
        (error) => ckrOf(error) === 'CKR_ATTRIBUTE_SENSITIVE',
      );
      // ...nor exported under another key...
      const exporter = api.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_WRAP, value: true },
      ]);
      for (const mechanism of [pkcs11js.CKM_AES_KEY_WRAP_PAD, pkcs11js.CKM_AES_KEY_WRAP]) {
        assert.throws(
          () => api.C_WrapKey(session, { mechanism }, exporter, kek, Buffer.alloc(256)),
          (error) => ckrOf(error) === 'CKR_KEY_UNEXTRACTABLE',
        );
      }
      // ...nor made exportable afterwards (PKCS#11 v2.40 §4.10: these attributes only ever tighten).
      assert.throws(() => {
        api.C_SetAttributeValue(session, kek, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]);
      });
      assert.throws(() => {
        api.C_SetAttributeValue(session, kek, [{ type: pkcs11js.CKA_SENSITIVE, value: false }]);
      });
      assert.ok(
        isTrue(raw.attribute(kek, pkcs11js.CKA_SENSITIVE)) && !isTrue(raw.attribute(kek, pkcs11js.CKA_EXTRACTABLE)),
      );
    }
  },
);

test(
  'pkcs11: a lost session (all sessions closed, login gone) is reopened and the call succeeds',
  { skip },
  async (t) => {
    const token = await hsm!.createToken();
    const handles = opener(token);
    t.after(() => handles.closeAll());
    const wrapper = await handles.open();
    const dataKey = randomBytes(32);
    const wrapped = await wrapper.wrap(dataKey);

    const raw = openRawSession(hsm!.modulePath, token);
    raw.api.C_CloseAllSessions(raw.slot);
    raw.close();

    assert.deepEqual(Buffer.from(await wrapper.unwrap(wrapped)), dataKey);
    assert.deepEqual(Buffer.from(await wrapper.unwrap(await wrapper.wrap(dataKey))), dataKey);
  },
);

test(
  'pkcs11: a KEK rotated by another handle is found by its id and becomes current after the refresh interval',
  { skip },
  async (t) => {
    const token = await hsm!.createToken();
    const eager = opener(token, { refreshIntervalMs: 0 });
    const other = opener(token);
    t.after(async () => {
      await eager.closeAll();
      await other.closeAll();
    });
    const first = await eager.open();
    const firstKek = await first.currentKekId();
    const second = await other.open();
    const rotated = await second.rotate();
    assert.notEqual(rotated, firstKek);

    const dataKey = randomBytes(32);
    assert.deepEqual(Buffer.from(await first.unwrap(await second.wrap(dataKey))), dataKey);
    assert.equal(await first.currentKekId(), rotated);
    assert.equal((await first.wrap(dataKey)).kekId, rotated);
  },
);

test(
  'pkcs11: another process on the same token agrees on the current KEK and unwraps what this one wrapped',
  { skip },
  async (t) => {
    const token = await hsm!.createToken();
    const handles = opener(token);
    t.after(() => handles.closeAll());
    const wrapper = await handles.open();
    const rotated = await wrapper.rotate();
    const dataKey = randomBytes(32);
    const wrapped = await wrapper.wrap(dataKey);
    await wrapper.close();

    const script = `
    import { openPkcs11KeyWrapper } from './src/keys/pkcs11/index.ts';
    const input = JSON.parse(process.argv[1]);
    const wrapper = await openPkcs11KeyWrapper({ modulePath: input.modulePath, tokenLabel: input.label, pin: { value: input.pin } });
    const key = await wrapper.unwrap({ kekId: input.kekId, wrapped: Buffer.from(input.wrapped, 'base64') });
    console.log(JSON.stringify({ current: await wrapper.currentKekId(), ids: await wrapper.kekIds(), key: Buffer.from(key).toString('base64') }));
    await wrapper.close();`;
    const input = {
      modulePath: hsm!.modulePath,
      label: token.label,
      pin: token.pin,
      kekId: wrapped.kekId,
      wrapped: Buffer.from(wrapped.wrapped).toString('base64'),
    };
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script, JSON.stringify(input)],
      { cwd: repoRoot },
    );
    const child = JSON.parse(stdout) as { current: string; ids: string[]; key: string };
    assert.equal(child.current, rotated);
    assert.equal(child.ids.length, 2);
    assert.equal(child.ids[0], rotated);
    assert.equal(child.key, dataKey.toString('base64'));
  },
);

test(
  'pkcs11: concurrent calls on one handle all succeed (one operation per session at a time); calls after close are refused',
  { skip },
  async (t) => {
    const handles = opener(await hsm!.createToken());
    t.after(() => handles.closeAll());
    const wrapper = await handles.open();
    const keys = Array.from({ length: 40 }, () => randomBytes(32));
    const wrapped = await Promise.all(keys.map((key) => wrapper.wrap(key)));
    const opened = await Promise.all(wrapped.map((item) => wrapper.unwrap(item)));
    assert.deepEqual(
      opened.map((key) => Buffer.from(key)),
      keys,
    );

    const pending = wrapper.wrap(randomBytes(32));
    const closing = wrapper.close();
    assert.equal((await pending).wrapped.length, 61, 'a call queued before close still completes');
    await closing;
    await assert.rejects(
      wrapper.wrap(randomBytes(32)),
      (error: unknown) => error instanceof HsmError && error.kind === 'closed',
    );
  },
);

test('pkcs11: a wrong PIN stops the start with a clear error that does not contain the PIN', { skip }, async () => {
  const token = await hsm!.createToken();
  const wrongPin = `wrong-${token.pin}`;
  await assert.rejects(
    openPkcs11KeyWrapper({ modulePath: hsm!.modulePath, tokenLabel: token.label, pin: { value: wrongPin } }),
    (error: unknown) => {
      assert.ok(error instanceof HsmError);
      assert.equal(error.kind, 'configuration');
      assert.equal(error.ckr, 'CKR_PIN_INCORRECT');
      assert.match(error.message, /PIN is wrong.*CADUCEUS_PKCS11_PIN_FILE/);
      assert.ok(!error.message.includes(wrongPin) && !error.message.includes(token.pin), 'no PIN in the message');
      assert.ok(!String(error.stack).includes(wrongPin), 'no PIN in the stack');
      return true;
    },
  );
  // The failed attempt left nothing half-open: the right PIN works at once.
  const wrapper = await openPkcs11KeyWrapper({
    modulePath: hsm!.modulePath,
    tokenLabel: token.label,
    pin: { value: token.pin },
  });
  await wrapper.close();
});

test('pkcs11: the PIN is read from a file, without its trailing newline', { skip }, async () => {
  const token = await hsm!.createToken();
  const pinFile = path.join(hsm!.dir, `${token.label}.pin`);
  await writeFile(pinFile, `${token.pin}\n`, { mode: 0o600 });
  const wrapper = await openPkcs11KeyWrapper({
    modulePath: hsm!.modulePath,
    tokenLabel: token.label,
    pin: { file: pinFile },
  });
  const dataKey = randomBytes(32);
  assert.deepEqual(Buffer.from(await wrapper.unwrap(await wrapper.wrap(dataKey))), dataKey);
  await wrapper.close();
});

test('pkcs11: an unknown token label is a configuration error naming the setting', { skip }, async () => {
  const token = await hsm!.createToken();
  await assert.rejects(
    openPkcs11KeyWrapper({
      modulePath: hsm!.modulePath,
      tokenLabel: `${token.label}-absent`,
      pin: { value: token.pin },
    }),
    (error: unknown) =>
      error instanceof HsmError &&
      error.kind === 'configuration' &&
      /CADUCEUS_PKCS11_TOKEN_LABEL: no token/.test(error.message),
  );
});
