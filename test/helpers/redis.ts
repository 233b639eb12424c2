import { freeLoopbackPort } from './ports.js';
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';

/** The shared Redis tests use: CADUCEUS_TEST_REDIS_URL, or the local default. */
export function testRedisUrl(): string {
  return process.env.CADUCEUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * The `skip` option of a Redis test: false when Redis answers, or under
 * CI=true (the test then runs and fails); elsewhere the printed reason.
 */
export async function redisSkip(): Promise<string | false> {
  if (process.env.CI === 'true' || (await redisAnswers(testRedisUrl()))) return false;
  return 'Redis is unreachable at CADUCEUS_TEST_REDIS_URL; skipped outside CI (CI=true makes this a failure)';
}

/** A redis-server of the test's own, on loopback, that the test may kill mid-way. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>;
}

/** Starts a private `redis-server` (no persistence) and stops it when the test ends. */
export async function startPrivateRedis(t: TestContext): Promise<PrivateRedis> {
  const port = await freeLoopbackPort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ReturnType<typeof spawn> | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (await redisAnswers(url)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('private redis-server did not start');
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  t.after(kill);
  return { url, port, kill, restart: start };
}
