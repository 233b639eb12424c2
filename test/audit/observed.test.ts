import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent, AuditLog } from '../../src/audit/event.js';
import { observeAuditLog } from '../../src/audit/observed.js';
import { makeEvent } from './fixtures.js';

function memoryLog(fail: boolean): AuditLog & { readonly writerId: string; written: AuditEvent[] } {
  const written: AuditEvent[] = [];
  return {
    writerId: 'w1',
    written,
    record: (event) => (fail ? Promise.reject(new Error('disk full')) : Promise.resolve(void written.push(event))),
    checkpoint: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

test('the listener hears each event after it is durable, and its failure does not fail the write', async () => {
  const inner = memoryLog(false);
  const heard: string[] = [];
  const errors: unknown[] = [];
  const observed = observeAuditLog(
    inner,
    (event) => {
      heard.push(event.requestId);
      assert.equal(inner.written.includes(event), true, 'durable before it is heard');
      throw new Error('detector bug');
    },
    (error) => errors.push(error),
  );
  await observed.record({ ...makeEvent(1), requestId: 'a'.repeat(32) });
  assert.deepEqual(heard, ['a'.repeat(32)]);
  assert.equal(errors.length, 1);
  assert.equal(observed.writerId, 'w1');
});

test('an event that could not be written is not heard, and the failure reaches the caller', async () => {
  const heard: AuditEvent[] = [];
  const observed = observeAuditLog(
    memoryLog(true),
    (event) => heard.push(event),
    () => undefined,
  );
  await assert.rejects(observed.record(makeEvent(2)), /disk full/);
  assert.equal(heard.length, 0);
});
