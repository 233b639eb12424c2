import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { AuditEvent, AuditLog } from '../../src/audit/event.js';
import { countRefusals } from '../../src/audit/refusal-counts.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';

function memoryAudit(): AuditLog & { events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return {
    events,
    record: (event) => Promise.resolve(void events.push(event)),
    checkpoint: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

test('early refusals become one audit event per source, kind and rule per window, with counts', async () => {
  const events = createSecurityEvents(pino({ level: 'silent' }));
  const audit = memoryAudit();
  let clock = Date.parse('2026-11-29T10:00:00Z');
  const counter = countRefusals({
    events,
    audit,
    windowMs: 60_000,
    onError: (error) => {
      throw error;
    },
    now: () => clock,
  });
  for (let i = 0; i < 3; i += 1)
    events.emit({
      kind: 'edge.refused',
      sourceIp: '192.0.2.1',
      details: { rule: 'path_traversal', code: 'VALIDATION_ERROR' },
    });
  events.emit({ kind: 'edge.refused', sourceIp: '192.0.2.2', details: { rule: 'ip_denied', code: 'FORBIDDEN' } });
  events.emit({ kind: 'rate_limit.exceeded', sourceIp: '192.0.2.1', details: { policy: 'read', stage: 'pre-auth' } });
  // Refusals after authentication have their own per-request audit event: not counted again.
  events.emit({
    kind: 'rate_limit.exceeded',
    sourceIp: '192.0.2.1',
    subject: 'u1',
    details: { policy: 'read', stage: 'post-auth' },
  });
  events.emit({ kind: 'breaker.state_changed', details: { breaker: 'postgres', state: 'open' } });
  clock += 60_000;
  await counter.flush();

  const byRule = new Map(
    audit.events.map((event) => [`${event.actor.sourceIp} ${String(event.action.details?.rule)}`, event]),
  );
  assert.equal(audit.events.length, 3);
  const traversal = byRule.get('192.0.2.1 path_traversal');
  assert.ok(traversal);
  assert.equal(traversal.category, 'edge');
  assert.equal(traversal.action.interaction, 'edge.refused');
  assert.deepEqual(traversal.action.details, { rule: 'path_traversal', count: 3, windowMs: 60_000 });
  assert.deepEqual(traversal.outcome, { status: 400, code: 'VALIDATION_ERROR' });
  assert.equal(traversal.time, '2026-11-29T10:00:00.000Z');
  assert.deepEqual(byRule.get('192.0.2.2 ip_denied')?.outcome, { status: 403, code: 'FORBIDDEN' });
  assert.deepEqual(byRule.get('192.0.2.1 read')?.outcome, { status: 429, code: 'RATE_LIMITED' });

  // An empty window writes nothing; closing flushes what was counted since.
  await counter.flush();
  assert.equal(audit.events.length, 3);
  events.emit({ kind: 'edge.refused', sourceIp: '192.0.2.9', details: { rule: 'crlf', code: 'VALIDATION_ERROR' } });
  await counter.close();
  assert.equal(audit.events.length, 4);
  events.emit({ kind: 'edge.refused', sourceIp: '192.0.2.9', details: { rule: 'crlf', code: 'VALIDATION_ERROR' } });
  await counter.flush();
  assert.equal(audit.events.length, 4, 'no longer counting after close');
});

test('distinct sources beyond the bound are counted together under a null source', async () => {
  const events = createSecurityEvents(pino({ level: 'silent' }));
  const audit = memoryAudit();
  const counter = countRefusals({
    events,
    audit,
    windowMs: 60_000,
    maxKeys: 2,
    onError: (error) => {
      throw error;
    },
  });
  for (let i = 1; i <= 5; i += 1)
    events.emit({
      kind: 'edge.refused',
      sourceIp: `198.51.100.${i}`,
      details: { rule: 'null_byte', code: 'VALIDATION_ERROR' },
    });
  await counter.close();
  assert.equal(audit.events.length, 3);
  const overflow = audit.events.find((event) => event.actor.sourceIp === null);
  assert.equal(overflow?.action.details?.count, 3);
});

test('a failed audit write is reported, not thrown', async () => {
  const events = createSecurityEvents(pino({ level: 'silent' }));
  const failures: unknown[] = [];
  const audit: AuditLog = {
    record: () => Promise.reject(new Error('disk full')),
    checkpoint: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const counter = countRefusals({ events, audit, windowMs: 60_000, onError: (error) => failures.push(error) });
  events.emit({ kind: 'edge.refused', sourceIp: '192.0.2.1', details: { rule: 'crlf', code: 'VALIDATION_ERROR' } });
  await counter.close();
  assert.equal(failures.length, 1);
});
