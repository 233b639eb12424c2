import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import type { Alert } from '../../src/storage/alerts.js';
import { createRedisState } from '../../src/monitoring/state/redis.js';
import { build } from '../helpers/app.js';
import { redisSkip, startPrivateRedis, testRedisUrl } from '../helpers/redis.js';
import { auditEvent, harness, securityEvent, times } from './harness.js';

const skip = await redisSkip();

test('two detectors sharing Redis: a burst split across them raises exactly one alert', { skip }, async (t) => {
  const prefix = `caduceus-test:${process.pid}:${randomUUID()}:`;
  const connections = [new Redis(testRedisUrl()), new Redis(testRedisUrl())];
  t.after(() => {
    for (const connection of connections) connection.disconnect();
  });
  const [one, two] = connections.map((connection) => harness({ state: createRedisState(connection, prefix) }));
  // 20 refused tokens from one address, alternating between processes: neither sees 20 on its own.
  const now = Date.now();
  const failures = times(20, (i) =>
    auditEvent({ subject: null, status: 401, authFailure: 'expired', ip: '198.51.100.20', time: now + i }),
  );
  for (const [index, event] of failures.entries()) (index % 2 === 0 ? one! : two!).detector.onAudit(event);
  // And more past the threshold on both sides, concurrently: still one alert.
  for (const event of times(6, (i) =>
    auditEvent({ subject: null, status: 401, authFailure: 'expired', ip: '198.51.100.20', time: now + 20 + i }),
  )) {
    one!.detector.onAudit(event);
    two!.detector.onAudit(event);
  }
  await Promise.all([one!.detector.settled(), two!.detector.settled()]);
  const raised = [...one!.alerts, ...two!.alerts];
  assert.deepEqual(
    raised.map((alert) => alert.kind),
    ['failed_login_burst_ip'],
  );
  // Ten each of another burst: the alert is not missed either.
  const storm = times(100, (i) => securityEvent('rate_limit.exceeded', { ip: '192.0.2.9', time: now + i }));
  for (const [index, event] of storm.entries()) (index % 2 === 0 ? one! : two!).detector.onSecurity(event);
  await Promise.all([one!.detector.settled(), two!.detector.settled()]);
  assert.equal([...one!.alerts, ...two!.alerts].filter((alert) => alert.kind === 'rate_limit_storm').length, 1);
});

test('with Redis down, requests are answered as usual and monitoring goes on in process', { skip }, async (t) => {
  const redis = await startPrivateRedis(t);
  const built = await build(t, { env: { CADUCEUS_REDIS_URL: redis.url } });
  const alerts: Alert[] = [];
  built.monitoring.stream.subscribe((alert) => {
    alerts.push(alert);
  });
  const token = await built.token('device', { sub: 'probe-while-down' });
  await redis.kill();
  for (let i = 0; i < 10; i += 1) {
    const response = await built.app.inject({
      method: 'GET',
      url: `/api/v1/patients/p${i}`,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.statusCode, 403);
  }
  await built.monitoring.detector.settled();
  const probing = alerts.filter((alert) => alert.kind === 'repeated_forbidden');
  assert.equal(probing.length, 1);
  assert.equal(probing[0]?.subject, 'probe-while-down');
  const breaker = built.breakers.list().find((candidate) => candidate.name === 'redis-monitoring');
  assert.equal(breaker?.state, 'open', 'the failures opened the redis-monitoring breaker');
  assert.ok(
    built.securityEvents.some(
      (event) => event.kind === 'breaker.state_changed' && event.details.breaker === 'redis-monitoring',
    ),
  );
  assert.ok(
    alerts.some((alert) => alert.kind === 'breaker_open' && alert.details.breaker === 'redis-monitoring'),
    'and monitoring says so',
  );
});
