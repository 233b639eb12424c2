import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { KeyWrapper } from '../../src/keys/ports.js';

/** How a contract run opens an adapter: `reopen` opens the same keys again (another process, a restart). */
export interface KeyWrapperFixture {
  open(): Promise<KeyWrapper>;
  reopen(): Promise<KeyWrapper>;
  cleanup(): Promise<void>;
}

/** The KeyWrapper contract: every adapter (local keyring, PKCS#11) passes the same tests. */
export function keyWrapperContract(
  name: string,
  makeFixture: () => Promise<KeyWrapperFixture>,
  options: { skip?: string | false } = {},
): void {
  const run = (title: string, body: (fixture: KeyWrapperFixture) => Promise<void>): void => {
    test(`${name}: ${title}`, { skip: options.skip ?? false }, async () => {
      const fixture = await makeFixture();
      try {
        await body(fixture);
      } finally {
        await fixture.cleanup();
      }
    });
  };

  run('wrap then unwrap gives the data key back; the wrapped bytes do not contain it', async (fixture) => {
    const wrapper = await fixture.open();
    const dataKey = randomBytes(32);
    const wrapped = await wrapper.wrap(dataKey);
    assert.equal(wrapped.kekId, await wrapper.currentKekId());
    assert.ok(!Buffer.from(wrapped.wrapped).includes(dataKey), 'the data key is not in the wrapped bytes');
    assert.deepEqual(Buffer.from(await wrapper.unwrap(wrapped)), dataKey);
    await wrapper.close();
  });

  run('altered wrapped bytes and unknown KEK ids are refused', async (fixture) => {
    const wrapper = await fixture.open();
    const wrapped = await wrapper.wrap(randomBytes(32));
    const altered = Buffer.from(wrapped.wrapped);
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
    await assert.rejects(wrapper.unwrap({ kekId: wrapped.kekId, wrapped: altered }));
    await assert.rejects(wrapper.unwrap({ kekId: 'no-such-kek', wrapped: wrapped.wrapped }));
    await wrapper.close();
  });

  run('only 32-byte data keys are wrapped', async (fixture) => {
    const wrapper = await fixture.open();
    await assert.rejects(wrapper.wrap(randomBytes(16)));
    await assert.rejects(wrapper.wrap(new Uint8Array(0)));
    await wrapper.close();
  });

  run('rotation makes a new KEK current; keys wrapped before still unwrap, also after reopening', async (fixture) => {
    const wrapper = await fixture.open();
    const first = await wrapper.currentKekId();
    const oldKey = randomBytes(32);
    const oldWrapped = await wrapper.wrap(oldKey);
    const second = await wrapper.rotate();
    assert.notEqual(second, first);
    assert.equal(await wrapper.currentKekId(), second);
    assert.deepEqual(await wrapper.kekIds(), [second, first]);
    const newKey = randomBytes(32);
    const newWrapped = await wrapper.wrap(newKey);
    assert.equal(newWrapped.kekId, second);
    await wrapper.close();

    const again = await fixture.reopen();
    assert.equal(await again.currentKekId(), second);
    assert.deepEqual(Buffer.from(await again.unwrap(oldWrapped)), oldKey);
    assert.deepEqual(Buffer.from(await again.unwrap(newWrapped)), newKey);
    await again.close();
  });

  run('two handles on the same keys (two processes) agree', async (fixture) => {
    const one = await fixture.open();
    const two = await fixture.reopen();
    const dataKey = randomBytes(32);
    assert.deepEqual(Buffer.from(await two.unwrap(await one.wrap(dataKey))), dataKey);
    await one.close();
    await two.close();
  });
}
