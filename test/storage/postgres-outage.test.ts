/**
 * PostgreSQL stopped under concurrent writes (`pg_ctl stop -m fast`): the
 * server process survives (a client that loses its server mid-transaction
 * emits 'error', which ended the process when nothing listened), answers
 * while the database is gone, and writes again once it is back, with every
 * acknowledged write still readable. Runs a private cluster of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  signToken,
  spawnServer,
  type ServerProcess,
} from '../helpers/process.js';
import { privatePostgresSkip, startPrivatePostgres } from '../helpers/private-postgres.js';
import { toPgStorageError } from '../../src/storage/postgres/errors.js';
import { until } from '../helpers/until.js';

const writers = 8;

interface WriteLoad {
  /** Locations of acknowledged (201) creates. */
  readonly acknowledged: string[];
  /** Statuses of refused writes (0: no response). */
  readonly refused: number[];
  stop(): Promise<void>;
}

function createPatient(server: ServerProcess, token: string, n: number): ReturnType<typeof httpsRequest> {
  return httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Outage${String(n)}` }] }),
  });
}

/** `writers` loops of creates, each bounded to 2,000 requests; `stop` ends them. */
function startWrites(server: ServerProcess, token: string): WriteLoad {
  const acknowledged: string[] = [];
  const refused: number[] = [];
  let running = true;
  const loop = async (w: number): Promise<void> => {
    for (let i = 0; running && i < 2_000; i += 1) {
      try {
        const result = await createPatient(server, token, w * 10_000 + i);
        if (result.status === 201) acknowledged.push(String(result.headers.location));
        else refused.push(result.status);
      } catch {
        refused.push(0);
      }
    }
  };
  const loops = Array.from({ length: writers }, (_, w) => loop(w));
  return {
    acknowledged,
    refused,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

test(
  'PostgreSQL stopped -m fast twice under 8 concurrent writers: the server survives and writes again',
  { skip: await privatePostgresSkip() },
  async (t) => {
    const pg = await startPrivatePostgres(t);
    const scope = await processScope(t);
    const env = caduceusEnv(scope.dir, {
      CADUCEUS_DATABASE_URL: pg.url,
      CADUCEUS_RATE_LIMIT: 'off',
      CADUCEUS_LOG_LEVEL: 'info',
      CADUCEUS_BREAKER_RESET_MS: '300',
    });
    const server = await spawnServer(scope, env, 60_000);
    const token = await signToken(server.config, 'clinician');
    const load = startWrites(server, token);
    try {
      await until(() => load.acknowledged.length >= 40, 30_000, 'writes before the outage');
      // Two outages: a lost connection between two statements of a transaction is a race, so give it two chances.
      for (let outage = 1; outage <= 2; outage += 1) {
        await pg.stop('fast');
        const refusedBefore = load.refused.length;
        await until(
          () => load.refused.length >= refusedBefore + writers,
          30_000,
          `writes refused during outage ${String(outage)}`,
        );
        assert.equal(server.child.exitCode, null, `the server exited: ${server.stderr()}`);
        const health = await httpsRequest(`${server.url}/health`, server.ca);
        assert.equal(health.status, 200, health.body);
        assert.ok(
          load.refused.every((status) => status === 503),
          `refused with ${JSON.stringify([...new Set(load.refused)])}`,
        );

        await pg.start();
        const ackedBefore = load.acknowledged.length;
        await until(
          () => load.acknowledged.length > ackedBefore + writers,
          60_000,
          `writes after outage ${String(outage)}`,
        );
      }
    } finally {
      await load.stop();
    }
    assert.equal(server.child.exitCode, null, `the server exited: ${server.stderr()}`);
    for (const location of load.acknowledged) {
      const read = await httpsRequest(new URL(location, server.url).href, server.ca, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(read.status, 200, `acknowledged ${location} is not readable: ${read.body}`);
    }
  },
);

test("pg's own connection errors, which carry no SQLSTATE, count as the database being unavailable", () => {
  for (const message of [
    'Client has encountered a connection error and is not queryable',
    'Client was closed and is not queryable',
    'Connection terminated unexpectedly',
    'timeout exceeded when trying to connect',
  ]) {
    assert.equal(toPgStorageError('write', new Error(message)).reason, 'unavailable', message);
  }
  assert.equal(toPgStorageError('write', Object.assign(new Error('crash'), { code: '57P02' })).reason, 'unavailable');
  assert.equal(toPgStorageError('write', new Error('something else')).reason, 'failed');
});
