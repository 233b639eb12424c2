/**
 * Index-key rotation across processes, as `caduceus keys rotate --index`
 * runs it: a real server process keeps serving writes and searches over
 * HTTPS while another process (this one) rotates the index key in the same
 * database. The server follows the key changes on its own (it re-reads its
 * keys every CADUCEUS_DATA_KEY_REFRESH_MS) and no search answer is ever wrong.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import { rotateIndexKey, type IndexRotationProgressEvent } from '../../src/rotation/blind-index.js';
import { createEnvelopeSealer } from '../../src/keys/envelope/envelope-sealer.js';
import { openKeyWrapper } from '../../src/keys/envelope/open.js';
import { openConfiguredKeys } from '../../src/keys/local/index.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { openDatabase } from '../../src/storage/open.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  signToken,
  spawnServer,
  type ServerProcess,
} from '../helpers/process.js';

const surnames = ['Okafor', 'Lindqvist', 'Nakamura'];

interface Client {
  readonly server: ServerProcess;
  readonly headers: Record<string, string>;
  readonly families: Map<string, Set<string>>;
}

async function create(c: Client, family: string): Promise<void> {
  const body = JSON.stringify({ resourceType: 'Patient', name: [{ family, given: ['Test'] }] });
  const created = await httpsRequest(`${c.server.url}/api/v1/patients`, c.server.ca, {
    method: 'POST',
    headers: c.headers,
    body,
  });
  assert.equal(created.status, 201, created.body);
  const { id } = JSON.parse(created.body) as { id: string };
  c.families.set(family, (c.families.get(family) ?? new Set()).add(id));
}

async function assertSearches(c: Client, when: string): Promise<void> {
  for (const family of surnames) {
    const answer = await httpsRequest(
      `${c.server.url}/api/v1/patients?family=${family.slice(0, 4).toLowerCase()}&_count=100`,
      c.server.ca,
      { headers: c.headers },
    );
    assert.equal(answer.status, 200, answer.body);
    const ids = (JSON.parse(answer.body) as { entry: { resource: { id: string } }[] }).entry
      .map((e) => e.resource.id)
      .sort();
    assert.deepEqual(ids, [...(c.families.get(family) ?? [])].sort(), `${when}: ${family}`);
  }
}

test('a rotation run by another process while the server writes and searches over HTTPS loses no result', async (t) => {
  const scope = await processScope(t, 'caduceus-bi-proc-');
  const server = await spawnServer(
    scope,
    caduceusEnv(scope.dir, {
      CADUCEUS_DATA_KEY_REFRESH_MS: '200',
      CADUCEUS_LOG_LEVEL: 'info',
      CADUCEUS_RATE_LIMIT: 'off',
    }),
  );
  const c: Client = {
    server,
    headers: {
      authorization: `Bearer ${await signToken(server.config, 'admin')}`,
      'content-type': 'application/fhir+json',
    },
    families: new Map(),
  };
  for (let i = 0; i < 15; i += 1) await create(c, surnames[i % surnames.length] ?? 'Okafor');
  await assertSearches(c, 'before');

  // The operator's process: the same database, KEK keyring and master key as the server.
  const logger = pino({ level: 'silent' });
  const db = await openDatabase(server.config.databaseUrl);
  const { keys, masterKey } = await openConfiguredKeys(server.config, logger);
  const wrapper = await openKeyWrapper(server.config, masterKey, logger);
  const breakers = createBreakers(createSecurityEvents(logger));
  scope.defer(async () => {
    breakers.shutdown();
    await wrapper.close();
    await keys.close();
    await db.close();
  });
  const sealer = createEnvelopeSealer({
    wrapper,
    store: db.dataKeys,
    breaker: breakers.create({ name: 'key-manager', timeoutMs: 5000, resetMs: 1000 }),
    cacheSize: 8,
  });
  const [oldKey] = await db.indexKeys.list();
  const phases: IndexRotationProgressEvent['phase'][] = [];
  let finished = false;
  // Grace 3x the server's refresh interval: it must have re-read its keys before each next step.
  const rotation = rotateIndexKey(
    { db, wrapper, sealer },
    {
      graceMs: 600,
      batchSize: 4,
      onProgress: (e) => {
        phases.push(e.phase);
      },
    },
  ).finally(() => {
    finished = true;
  });
  let rounds = 0;
  while (!finished) {
    await create(c, surnames[rounds % surnames.length] ?? 'Okafor');
    await assertSearches(c, `during, round ${String(rounds)}, after ${phases.at(-1) ?? 'start'}`);
    rounds += 1;
  }
  const result = await rotation;
  assert.ok(rounds >= 3, `the load ran across the rotation (${String(rounds)} rounds)`);
  assert.equal(result.retiredKeyId, oldKey?.id);
  assert.ok(phases.includes('switching') && phases.includes('retired'));
  for (const family of ['family', 'given', 'name']) {
    assert.deepEqual(
      await db.indexKeys.idsWithTokenPrefix('Patient', family, `${oldKey?.id ?? ''}.`, '', 100),
      [],
      `no ${family} row under the retired key`,
    );
  }
  // Once the server has dropped the retired key, searches still answer right.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await create(c, 'Okafor');
  await assertSearches(c, 'after');
});
