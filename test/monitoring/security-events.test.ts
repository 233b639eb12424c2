import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createSecurityEvents, type SecurityEvent } from '../../src/lib/security-events.js';

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

test('events reach every listener with defaults filled in, and are logged at warn by kind', async () => {
  const { logger, lines } = capture();
  const events = createSecurityEvents(logger);
  const seen: SecurityEvent[] = [];
  events.subscribe((event) => {
    seen.push(event);
  });
  events.emit({ kind: 'rate_limit.exceeded', sourceIp: '192.0.2.7', details: { policy: 'read' } });
  assert.equal(seen.length, 1);
  const [first] = seen;
  assert.ok(first);
  assert.equal(first.kind, 'rate_limit.exceeded');
  assert.equal(first.requestId, null);
  assert.equal(first.subject, null);
  assert.ok(!Number.isNaN(Date.parse(first.time)));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.ok(line);
  assert.equal(line.level, 40);
  assert.equal(line.kind, 'rate_limit.exceeded');
  assert.deepEqual(line.details, { policy: 'read' });
  // pino's numeric time stays; the event's own instant is `at`.
  assert.equal(typeof line.time, 'number');
  assert.equal(line.at, first.time);
});

test('a throwing listener is logged and does not stop the others or the producer', async () => {
  const { logger, lines } = capture();
  const events = createSecurityEvents(logger);
  const seen: string[] = [];
  events.subscribe(() => {
    throw new Error('listener broke with a secret in its message');
  });
  events.subscribe((event) => {
    seen.push(event.kind);
  });
  assert.doesNotThrow(() => {
    events.emit({ kind: 'integrity.error' });
  });
  assert.deepEqual(seen, ['integrity.error']);
  await new Promise((resolve) => setImmediate(resolve));
  const failure = lines.find((line) => line.event === 'security.listener_failed');
  assert.ok(failure);
  assert.ok(!JSON.stringify(lines).includes('secret'));
});

test('unsubscribing stops delivery', () => {
  const { logger } = capture();
  const events = createSecurityEvents(logger);
  let count = 0;
  const unsubscribe = events.subscribe(() => {
    count += 1;
  });
  events.emit({ kind: 'access.denied' });
  unsubscribe();
  events.emit({ kind: 'access.denied' });
  assert.equal(count, 1);
});
