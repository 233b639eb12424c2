/**
 * Requests refused before authentication reach the audit log as counts per
 * source and minute (docs/audit.md), written at the latest when the server
 * stops, and the log still verifies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditSnapshot, caduceusEnv, processScope, rawTlsExchange, startInProcess } from '../helpers/process.js';

test('edge refusals are counted into one audit event per source and rule, and the log verifies', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  const traversal =
    'GET /api/v1/patients/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
  for (let i = 0; i < 3; i += 1) {
    const { text } = await rawTlsExchange(server.url, server.ca, traversal);
    assert.match(text, /^HTTP\/1\.1 400 /);
  }
  await server.stop();

  const snapshot = await auditSnapshot(server.config);
  assert.equal(snapshot.report.ok, true, JSON.stringify(snapshot.report.firstBad));
  const counted = snapshot.rows
    .filter((row) => row.kind === 'event')
    .map(
      (row) =>
        JSON.parse(row.payload) as {
          category: string;
          actor: { sourceIp: string | null };
          action: { interaction: string; details: Record<string, unknown> };
          outcome: { status: number; code: string | null };
        },
    )
    .filter((event) => event.category === 'edge');
  assert.equal(counted.length, 1, 'one event for three refusals of one source and rule');
  const [event] = counted;
  assert.ok(event);
  assert.equal(event.action.interaction, 'edge.refused');
  assert.equal(event.action.details.rule, 'path_traversal');
  assert.equal(event.action.details.count, 3);
  assert.match(String(event.actor.sourceIp), /127\.0\.0\.1$/);
  assert.deepEqual(event.outcome, { status: 400, code: 'VALIDATION_ERROR' });
  assert.ok(!snapshot.rows.some((row) => row.payload.includes('passwd')), 'the refused path is not recorded');
});
