/**
 * Who the client is (docs/edge.md "Client address"): X-Forwarded-For is
 * honoured only when the socket peer is a trusted proxy, read right to left
 * skipping trusted hops, and the address found is the one the audit log and
 * the IP allow and deny lists see. Lists take IPv4, IPv6 and IPv4-mapped
 * IPv6 in CIDR. Sockets are real for forwarding (the peer is what counts);
 * `remoteAddress` of app.inject stands in for IPv6 peers.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '../../src/audit/event.js';
import { build, type TestApp } from '../helpers/app.js';
import { assertRefusal, listen, rawGet } from './raw-http.js';

const quiet = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };

/** The audited source address of the request that got `requestId`. */
async function auditedSourceIp(h: TestApp, requestId: string | undefined): Promise<string | null | undefined> {
  const rows = await h.db.audit.read({ writerId: h.audit.writerId, limit: 100_000 });
  const events = rows.filter((row) => row.kind === 'event').map((row) => JSON.parse(row.payload) as AuditEvent);
  const matching = events.filter((event) => event.requestId === requestId);
  assert.equal(matching.length, 1, `one audit event for ${String(requestId)}`);
  return matching[0]?.actor.sourceIp;
}

/** An authenticated search over a raw socket with the given X-Forwarded-For lines; returns the audited client address. */
async function clientSeen(
  t: TestContext,
  env: Record<string, string>,
  forwarded: readonly string[],
): Promise<string | null | undefined> {
  const h = await build(t, { env: { ...quiet, ...env } });
  const port = await listen(h.app);
  const response = await rawGet(port, '/api/v1/patients', [
    `Authorization: Bearer ${await h.token('clinician')}`,
    ...forwarded.map((value) => `X-Forwarded-For: ${value}`),
  ]);
  assert.equal(response.status, 200, response.body);
  return auditedSourceIp(h, response.headers['x-request-id']);
}

test('without trusted proxies X-Forwarded-For is ignored: the audit log records the socket peer', async (t) => {
  assert.equal(await clientSeen(t, {}, ['203.0.113.9']), '127.0.0.1');
});

test('from a peer that is not a trusted proxy X-Forwarded-For is ignored', async (t) => {
  assert.equal(await clientSeen(t, { CADUCEUS_TRUSTED_PROXIES: '10.0.0.0/8' }, ['203.0.113.9']), '127.0.0.1');
});

test('from a trusted proxy the client is the first untrusted hop from the right, not the spoofable leftmost entry', async (t) => {
  const env = { CADUCEUS_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' };
  // client-supplied 198.51.100.1 → real client 203.0.113.9 → inner proxy 10.0.0.2 → us (127.0.0.1).
  assert.equal(await clientSeen(t, env, ['198.51.100.1, 203.0.113.9, 10.0.0.2']), '203.0.113.9');
  // The same chain split over several header lines (Node joins them in order).
  assert.equal(await clientSeen(t, env, ['198.51.100.1', '203.0.113.9, 10.0.0.2']), '203.0.113.9');
  // Every hop trusted: the leftmost is the client.
  assert.equal(await clientSeen(t, env, ['10.0.0.3, 10.0.0.2']), '10.0.0.3');
  // IPv6 clients behind the proxy.
  assert.equal(await clientSeen(t, env, ['2001:db8::5']), '2001:db8::5');
});

test('a trusted proxy with an IPv4-mapped block trusts the IPv4 peer', async (t) => {
  assert.equal(
    await clientSeen(t, { CADUCEUS_TRUSTED_PROXIES: '::ffff:127.0.0.0/104' }, ['203.0.113.9']),
    '203.0.113.9',
  );
});

test('the deny list applies to the resolved client: forwarded from a trusted proxy it is refused, forged by a direct client it is not', async (t) => {
  const deny = { CADUCEUS_IP_DENY_LIST: '203.0.113.0/24' };
  const proxied = await build(t, { env: { ...quiet, ...deny, CADUCEUS_TRUSTED_PROXIES: '127.0.0.1' } });
  const proxiedPort = await listen(proxied.app);
  const refused = await rawGet(proxiedPort, '/health', ['X-Forwarded-For: 203.0.113.9']);
  const { requestId } = assertRefusal(refused, 403, 'FORBIDDEN');
  const [event] = proxied.securityEvents;
  assert.deepEqual(event && [event.kind, event.requestId, event.sourceIp, event.details], [
    'edge.refused',
    requestId,
    '203.0.113.9',
    { rule: 'ip_denied', code: 'FORBIDDEN' },
  ]);
  // The leftmost, client-supplied entry is not who the client is.
  assert.equal((await rawGet(proxiedPort, '/health', ['X-Forwarded-For: 203.0.113.9, 198.51.100.7'])).status, 200);

  const direct = await build(t, { env: { ...quiet, ...deny } });
  const directPort = await listen(direct.app);
  assert.equal((await rawGet(directPort, '/health', ['X-Forwarded-For: 203.0.113.9'])).status, 200);
  assert.deepEqual(direct.securityEvents, []);
});

test('a forwarded entry that is not an address is refused without repeating it', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_TRUSTED_PROXIES: '127.0.0.1' } });
  const port = await listen(h.app);
  const response = await rawGet(port, '/health', ['X-Forwarded-For: Zqxplant<script>']);
  assertRefusal(response, 400, 'VALIDATION_ERROR');
  assert.deepEqual(
    h.securityEvents.map((event) => [event.kind, event.sourceIp, event.details.rule]),
    [['edge.refused', '127.0.0.1', 'client_address']],
  );
  assert.ok(!JSON.stringify(h.securityEvents).includes('Zqxplant'));
  assert.ok(!response.body.includes('Zqxplant'));
});

/** GET /health from `remoteAddress` (app.inject): the status. */
async function statusFrom(h: TestApp, remoteAddress: string): Promise<number> {
  return (await h.app.inject({ method: 'GET', url: '/health', remoteAddress })).statusCode;
}

test('allow list: only listed IPv4, IPv6 and IPv4-mapped addresses are served; the rest get 403 in the envelope', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_IP_ALLOW_LIST: '192.0.2.0/24, 2001:db8:1::/48' } });
  for (const address of ['192.0.2.10', '192.0.2.255', '::ffff:192.0.2.10', '2001:db8:1::5', '2001:db8:1:ffff::1']) {
    assert.equal(await statusFrom(h, address), 200, address);
  }
  for (const address of ['192.0.3.1', '198.51.100.1', '::ffff:198.51.100.1', '2001:db8:2::5', '::1', '127.0.0.1']) {
    const response = await h.app.inject({ method: 'GET', url: '/health', remoteAddress: address });
    assertRefusal(response, 403, 'FORBIDDEN');
  }
  assert.deepEqual(new Set(h.securityEvents.map((event) => event.details.rule)), new Set(['ip_not_allowed']));
  assert.equal(h.securityEvents.length, 6);
});

test('deny list: IPv4 and IPv6 blocks and a mapped block refuse, and win over the allow list', async (t) => {
  const h = await build(t, {
    env: {
      ...quiet,
      CADUCEUS_IP_DENY_LIST: '198.51.100.7, 2001:db8:dead::/48, ::ffff:203.0.113.0/120',
      CADUCEUS_IP_ALLOW_LIST: '198.51.100.0/24, 2001:db8::/32, 203.0.113.0/24',
    },
  });
  for (const address of [
    '198.51.100.7',
    '::ffff:198.51.100.7',
    '2001:db8:dead::1',
    '203.0.113.5',
    '::ffff:203.0.113.5',
  ]) {
    const response = await h.app.inject({ method: 'GET', url: '/health', remoteAddress: address });
    assertRefusal(response, 403, 'FORBIDDEN');
  }
  assert.deepEqual(new Set(h.securityEvents.map((event) => event.details.rule)), new Set(['ip_denied']));
  for (const address of ['198.51.100.8', '2001:db8:beef::1']) assert.equal(await statusFrom(h, address), 200, address);
});

test('a real client outside the allow list gets 403 with the envelope, X-Request-Id and the security headers', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_IP_ALLOW_LIST: '10.0.0.0/8' } });
  const port = await listen(h.app);
  assertRefusal(await rawGet(port, '/health'), 403, 'FORBIDDEN');
  const allowed = await build(t, { env: { ...quiet, CADUCEUS_IP_ALLOW_LIST: '127.0.0.0/8' } });
  assert.equal((await rawGet(await listen(allowed.app), '/health')).status, 200);
});
