/**
 * Rate limits shared through Redis (docs/rate-limits.md "Redis"): what
 * happens when a private redis-server is killed mid-test and restarted
 * (CADUCEUS_RATE_LIMIT_REDIS_FAILURE `local` and `closed`), and two real
 * server processes enforcing one global limit. Runs under CI=true; elsewhere
 * skipped with a notice when Redis is not installed or reachable.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { build, type TestApp } from '../helpers/app.js';
import { caduceusEnv, httpsRequest, processScope, securityHeaderValues, spawnServer } from '../helpers/process.js';
import { redisSkip, startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

const skip = await redisSkip();

/** One token per 20 minutes, three at once: nothing refills within a test. */
const limits = 'ip=3/1h:3';
const emissionMs = 1_200_000;

async function withRedis(
  t: Parameters<typeof build>[0],
  failure: 'local' | 'closed',
): Promise<{ h: TestApp; redis: PrivateRedis; probe: Redis; prefix: string }> {
  const redis = await startPrivateRedis(t);
  const prefix = `caduceus-test:${randomUUID()}:`;
  const h = await build(t, {
    env: {
      CADUCEUS_REDIS_URL: redis.url,
      CADUCEUS_RATE_LIMIT: limits,
      CADUCEUS_RATE_LIMIT_REDIS_FAILURE: failure,
      CADUCEUS_BREAKER_RESET_MS: '200',
    },
    rateLimitStore: { redisPrefix: prefix },
  });
  // The test's own connection: it keeps retrying across the kill, and never holds the test up.
  const probe = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  probe.on('error', () => undefined);
  t.after(() => {
    probe.disconnect();
  });
  return { h, redis, probe, prefix };
}

function anonymous(h: TestApp, remoteAddress: string) {
  return h.app.inject({ method: 'GET', url: '/api/v1/patients', remoteAddress });
}

/** Drains `address`'s bucket in Redis directly, on the server's clock: only a decision made in Redis can know. */
async function drainInRedis(probe: Redis, prefix: string, address: string): Promise<void> {
  const [seconds, micros] = await probe.time();
  const now = Number(seconds) * 1000 + Number(micros) / 1000;
  await probe.set(`${prefix}ip:ip:${address}`, String(now + 3 * emissionMs), 'PX', 3 * emissionMs);
}

/** Polls until a request from an address drained only in Redis is refused: Redis decides again. */
async function untilRedisDecides(h: TestApp, probe: Redis, prefix: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (let i = 1; Date.now() < deadline; i += 1) {
    const address = `198.51.100.${i % 250}`;
    try {
      await drainInRedis(probe, prefix, address);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const res = await anonymous(h, address);
    if (res.statusCode === 429) return i;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('Redis did not decide again within 20 s of its restart');
}

test(
  'local: with Redis killed, each process limits with its own buckets; after a restart Redis decides again',
  { skip },
  async (t) => {
    const { h, redis, probe, prefix } = await withRedis(t, 'local');
    assert.deepEqual(
      [
        (await anonymous(h, '192.0.2.1')).statusCode,
        (await anonymous(h, '192.0.2.1')).statusCode,
        (await anonymous(h, '192.0.2.1')).statusCode,
        (await anonymous(h, '192.0.2.1')).statusCode,
      ],
      [401, 401, 401, 429],
    );
    assert.ok(await probe.exists(`${prefix}ip:ip:192.0.2.1`), 'the bucket lives in Redis');

    await redis.kill();
    // Still limited, not failing open: a fresh address gets its burst from a local bucket, then 429.
    const during = [];
    for (let i = 0; i < 4; i += 1) during.push((await anonymous(h, '192.0.2.2')).statusCode);
    assert.deepEqual(during, [401, 401, 401, 429]);
    // The drained address starts over locally: Redis's state is out of reach, this process only knows its own.
    assert.equal((await anonymous(h, '192.0.2.1')).statusCode, 401);
    assert.ok(
      h.securityEvents.some(
        (event) =>
          event.kind === 'breaker.state_changed' && event.details.breaker === 'redis' && event.details.state === 'open',
      ),
      'the redis breaker opened',
    );

    await redis.restart();
    await untilRedisDecides(h, probe, prefix);
    assert.equal(h.breakers.list().find((breaker) => breaker.name === 'redis')?.state, 'closed');
  },
);

test(
  'closed: with Redis killed, requests answer 503 with Retry-After; after a restart they are served and limited in Redis again',
  { skip },
  async (t) => {
    const { h, redis, probe, prefix } = await withRedis(t, 'closed');
    assert.equal((await anonymous(h, '192.0.2.1')).statusCode, 401);
    await redis.kill();
    const token = await h.token('clinician');
    for (let i = 0; i < 8; i += 1) {
      const res =
        i % 2 === 0
          ? await anonymous(h, '192.0.2.3')
          : await h.app.inject({
              method: 'GET',
              url: '/api/v1/patients',
              headers: { authorization: `Bearer ${token}` },
            });
      assert.equal(res.statusCode, 503, res.body);
      assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/);
      assert.deepEqual(res.json(), {
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: 'The service is temporarily unavailable',
          requestId: res.headers['x-request-id'],
        },
      });
      for (const [name, value] of Object.entries(securityHeaderValues)) assert.equal(res.headers[name], value, name);
    }
    assert.equal(
      h.breakers.list().find((breaker) => breaker.name === 'redis')?.state,
      'open',
      'failures opened the breaker: refusals no longer wait for Redis',
    );
    // Liveness does not depend on Redis: an orchestrator must not restart every process during the outage.
    const health = await h.app.inject({ method: 'GET', url: '/health', remoteAddress: '192.0.2.4' });
    assert.equal(health.statusCode, 200, health.body);

    await redis.restart();
    await untilRedisDecides(h, probe, prefix);
    const served = await h.app.inject({
      method: 'GET',
      url: '/api/v1/patients',
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: '192.0.2.4',
    });
    assert.equal(served.statusCode, 200, served.body);
  },
);

test('two server processes sharing one Redis enforce one global limit', { skip, timeout: 120_000 }, async (t) => {
  const redis = await startPrivateRedis(t);
  const scope = await processScope(t);
  // `default=off`: /ready takes only from the address bucket, ten at once, shared by both processes.
  // Log level info: spawnServer waits for the `server.listening` line.
  const env = (dir: string) =>
    caduceusEnv(dir, {
      CADUCEUS_LOG_LEVEL: 'info',
      CADUCEUS_REDIS_URL: redis.url,
      CADUCEUS_RATE_LIMIT: 'ip=10/1h:10,default=off',
    });
  const one = await spawnServer(scope, env(`${scope.dir}/one`), 60_000);
  const two = await spawnServer(scope, env(`${scope.dir}/two`), 60_000);
  const answers = [];
  for (let i = 0; i < 30; i += 1) {
    const server = i % 2 === 0 ? one : two;
    answers.push({ server: i % 2, ...(await httpsRequest(`${server.url}/ready`, server.ca)) });
  }
  const statuses = answers.map((answer) => answer.status);
  assert.equal(statuses.filter((status) => status === 200).length, 10, 'ten in all, not ten each');
  assert.equal(statuses.filter((status) => status === 429).length, 20);
  assert.deepEqual(
    statuses.slice(0, 10),
    Array.from({ length: 10 }, () => 200),
  );
  assert.ok(
    answers.slice(0, 10).some((answer) => answer.server === 0) &&
      answers.slice(0, 10).some((answer) => answer.server === 1),
    'both processes served',
  );
  // One bucket: its remaining count falls by one per request, whichever process answered.
  assert.deepEqual(
    answers.slice(0, 10).map((answer) => /^"ip";r=(\d+);t=\d+$/.exec(String(answer.headers.ratelimit))?.[1]),
    Array.from({ length: 10 }, (_, i) => String(9 - i)),
  );
});
