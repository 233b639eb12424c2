import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { openRedis } from '../../src/storage/redis/connection.js';
import { redisSkip, testRedisUrl } from '../helpers/redis.js';

test(
  'commands reach Redis, and fail at once instead of queueing while it is unreachable',
  { skip: await redisSkip() },
  async () => {
    const redis = await openRedis(testRedisUrl(), pino({ level: 'silent' }), {
      keyPrefix: `caduceus-test:${process.pid}:`,
    });
    try {
      await redis.set('probe', '1', 'PX', 5_000);
      assert.equal(await redis.get('probe'), '1');
    } finally {
      redis.disconnect();
    }
    // Nothing listens on port 1: the command is refused well before any request timeout.
    const down = await openRedis('redis://127.0.0.1:1', pino({ level: 'silent' }));
    try {
      const started = process.hrtime.bigint();
      await assert.rejects(down.get('probe'));
      assert.ok(process.hrtime.bigint() - started < 5_000_000_000n);
    } finally {
      down.disconnect();
    }
  },
);
