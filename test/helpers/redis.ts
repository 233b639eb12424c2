import { freeLoopbackPort } from './ports.js';
import { spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { until } from './until.js';

/** The shared Redis tests use: CADUCEUS_TEST_REDIS_URL, or the local default. */
export function testRedisUrl(): string {
  return process.env.CADUCEUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** Runs one question on a short-lived connection to `url`; undefined when nothing answers within two seconds. */
async function askRedis<T>(url: string, question: (probe: Redis) => Promise<T>): Promise<T | undefined> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await question(probe);
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

async function redisAnswers(url: string): Promise<boolean> {
  return (await askRedis(url, (probe) => probe.ping())) !== undefined;
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

/** The pid of the redis-server answering at `url`, or undefined when none answers. */
async function redisPid(url: string): Promise<number | undefined> {
  const pid = await askRedis(url, async (probe) => /^process_id:(\d+)/m.exec(await probe.info('server'))?.[1]);
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Starts a private `redis-server` (no persistence) and stops it when the test ends.
 * A free port can be taken by another test file's server before ours binds it:
 * ours is known by its pid, and a server that could not bind is started again on another port.
 */
export async function startPrivateRedis(t: TestContext): Promise<PrivateRedis> {
  let child: ReturnType<typeof spawn> | undefined;
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  t.after(kill);
  /** Starts redis-server on `port`; false when it exited instead (the port was taken). */
  const launch = async (port: number): Promise<boolean> => {
    const spawned = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = spawned;
    const gone = (): boolean => spawned.exitCode !== null || spawned.signalCode !== null;
    await until(
      async () => gone() || (await redisPid(`redis://127.0.0.1:${String(port)}`)) === spawned.pid,
      10_000,
      `redis-server to answer on port ${String(port)}`,
      { intervalMs: 50 },
    );
    return !gone();
  };
  let port = await freeLoopbackPort();
  for (let attempt = 1; !(await launch(port)); attempt += 1) {
    if (attempt === 3) throw new Error('private redis-server did not start: its port was taken three times');
    port = await freeLoopbackPort();
  }
  const restart = async (): Promise<void> => {
    if (!(await launch(port))) throw new Error(`private redis-server could not start again on port ${String(port)}`);
  };
  return { url: `redis://127.0.0.1:${String(port)}`, port, kill, restart };
}

/** The Redis server's clock (TIME), in milliseconds: the clock of its TTLs and of the scripts that read it. */
async function redisClockMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

/**
 * Resolves once at least `ms` have passed on the Redis server's own clock.
 * Redis cannot be given a fake clock: what expires there expires in its time,
 * so a test waits for that clock, not for its own.
 */
export async function elapseOnRedisClock(redis: Redis, ms: number): Promise<void> {
  const start = await redisClockMs(redis);
  await until(
    async () => (await redisClockMs(redis)) - start >= ms,
    ms + 10_000,
    `${String(ms)} ms on the Redis clock`,
    {
      intervalMs: Math.max(1, Math.min(25, ms / 4)),
    },
  );
}
