/**
 * Startup closes what it opened, whichever step fails: for every step of the
 * server's startup (the list src/startup.ts runs, not a copy), a failure
 * injected there must leave no database file handle, PostgreSQL connection,
 * thread, listening socket, timer or signal handler behind; and stop() after
 * a full start must leave none either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startServer } from '../../src/server.js';
import { serverSteps, StartupStepFailure, type StartupStep } from '../../src/startup.js';
import {
  dropPostgresSchema,
  postgresSkip,
  testPostgresBaseUrl,
  uniqueSchemaName,
  withSchema,
} from '../helpers/database.js';
import { redisSkip, testRedisUrl } from '../helpers/redis.js';
import { createTestCa } from '../helpers/test-ca.js';
import { until } from '../helpers/until.js';

/** What a process holds open that a clean teardown must give back. */
interface Held {
  /** process.getActiveResourcesInfo() by kind: timers, sockets, listening servers, watchers, workers. */
  readonly resources: ReadonlyMap<string, number>;
  readonly threads: number;
  readonly signalHandlers: number;
}

async function held(): Promise<Held> {
  const resources = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) resources.set(kind, (resources.get(kind) ?? 0) + 1);
  return {
    resources,
    threads: (await readdir('/proc/self/task')).length,
    signalHandlers: process.listenerCount('SIGTERM') + process.listenerCount('SIGINT'),
  };
}

/** What `now` holds beyond `before`; empty when everything was given back. */
function excess(before: Held, now: Held): string[] {
  const extra = [...now.resources]
    .filter(([kind, count]) => count > (before.resources.get(kind) ?? 0))
    .map(([kind, count]) => `${kind} ${String(count)} > ${String(before.resources.get(kind) ?? 0)}`);
  if (now.threads > before.threads) extra.push(`threads ${String(now.threads)} > ${String(before.threads)}`);
  if (now.signalHandlers > before.signalHandlers) extra.push('signal handlers');
  return extra;
}

/** Open file descriptors pointing into `dir` (the SQLite files, the keyring, the certificate). */
async function filesOpenIn(dir: string): Promise<string[]> {
  const targets = await Promise.all(
    (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target.startsWith(dir));
}

async function postgresConnections(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: testPostgresBaseUrl() });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return Number(result.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** One deployment's settings: every optional listener and job on, so that each step opens something. */
interface Setup {
  readonly dir: string;
  readonly env: Record<string, string>;
  /** PostgreSQL connections of this setup still open. */
  connections(): Promise<number>;
}

async function setUp(t: TestContext, database: 'sqlite' | 'postgres'): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-teardown-'));
  const ca = createTestCa(dir, 'DNS:localhost');
  const schema = uniqueSchemaName();
  const applicationName = `caduceus-teardown-${randomBytes(4).toString('hex')}`;
  const url = new URL(withSchema(testPostgresBaseUrl(), schema));
  url.searchParams.set('application_name', applicationName);
  t.after(async () => {
    if (database === 'postgres') await dropPostgresSchema(schema);
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir,
    env: {
      CADUCEUS_DATA_DIR: dir,
      CADUCEUS_PORT: '0',
      CADUCEUS_MTLS_PORT: '0',
      CADUCEUS_MTLS_CA: ca.caFile,
      CADUCEUS_KEY_ROTATION_DAYS: '30',
      CADUCEUS_SHUTDOWN_GRACE_MS: '1000',
      ...(database === 'postgres' && {
        CADUCEUS_DATABASE_URL: url.toString(),
        CADUCEUS_REDIS_URL: testRedisUrl(),
      }),
    },
    connections: () => (database === 'postgres' ? postgresConnections(applicationName) : Promise.resolve(0)),
  };
}

/** Starts the server on `setup`, failing at `failAt` if given; returns the steps it ran. */
function start(setup: Setup, failAt?: StartupStep) {
  const config = loadConfig(setup.env, setup.dir);
  const steps: StartupStep[] = [];
  const started = startServer(config, {
    logger: pino({ level: 'silent' }),
    onStep: (step) => steps.push(step),
    ...(failAt !== undefined && { failAt }),
  });
  return { started, steps };
}

/** Waits until nothing of the server is held any more, then checks each kind of resource by name. */
async function assertReleased(setup: Setup, before: Held, label: string): Promise<void> {
  await until(async () => excess(before, await held()).length === 0, 10_000, `${label}: resources released`).catch(
    async (error: unknown) => {
      assert.fail(`${label}: still open: ${excess(before, await held()).join(', ')} (${String(error)})`);
    },
  );
  await until(async () => (await filesOpenIn(setup.dir)).length === 0, 10_000, `${label}: files closed`).catch(
    async () => {
      assert.fail(`${label}: files still open: ${(await filesOpenIn(setup.dir)).join(', ')}`);
    },
  );
  await until(async () => (await setup.connections()) === 0, 10_000, `${label}: PostgreSQL connections closed`);
}

function suite(database: 'sqlite' | 'postgres', skip: string | false): void {
  describe(`startup teardown on ${database}`, () => {
    test('a full start runs every step in order, and stop() closes everything it opened', { skip }, async (t) => {
      const setup = await setUp(t, database);
      // A first start and stop warms up what Node keeps for the process (the libuv thread pool, TLS contexts).
      const warm = start(setup);
      await (await warm.started).stop();
      const before = await held();
      const { started, steps } = start(setup);
      const server = await started;
      // Stopped even when an assertion below fails: a running server would keep the test process alive.
      t.after(() => server.stop());
      assert.deepEqual(steps, serverSteps);
      // The checks below can see what a running server holds, so they can see a leak.
      if (database === 'postgres') assert.ok((await setup.connections()) > 0, 'the running server holds connections');
      else assert.ok((await filesOpenIn(setup.dir)).length > 0, 'the running server holds its SQLite files');
      assert.notDeepEqual(excess(before, await held()), [], 'the running server holds resources');
      await server.stop();
      await assertReleased(setup, before, 'stop()');
    });

    for (const step of serverSteps) {
      test(`a failure at step "${step}" closes everything opened before it`, { skip }, async (t) => {
        const setup = await setUp(t, database);
        const warm = start(setup);
        await (await warm.started).stop();
        const before = await held();
        const { started, steps } = start(setup, step);
        await assert.rejects(started, (error: unknown) => error instanceof StartupStepFailure && error.step === step);
        assert.equal(steps.at(-1), step, 'the startup stopped at the failing step');
        await assertReleased(setup, before, step);
      });
    }
  });
}

suite('sqlite', false);
suite('postgres', (await postgresSkip()) || (await redisSkip()));
