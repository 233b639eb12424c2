/**
 * Index-key rotation (src/rotation/blind-index.ts): with writes and
 * searches running throughout, every search answers as the data says; at the
 * end every index row is under the new key and the old key is retired. A
 * rotation that crashes mid-way resumes from its saved progress.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import { openIndexKeyRing } from '../../src/keys/blind-index/index.js';
import { rotateIndexKey, type IndexRotationProgressEvent } from '../../src/rotation/blind-index.js';
import { createBlindTokenizer } from '../../src/resources/search/blind-tokenizer.js';
import { createEnvelopeSealer } from '../../src/keys/envelope/envelope-sealer.js';
import { openLocalKeyWrapper } from '../../src/keys/local/local-key-wrapper.js';
import { MasterKey } from '../../src/keys/local/master-key.js';
import type { KeyWrapper, Sealer } from '../../src/keys/ports.js';
import { RotationInterruptedError } from '../../src/rotation/context.js';
import { createResourceEngine, type ResourceEngine } from '../../src/resources/engine/engine.js';
import type { ResourceDefinition } from '../../src/resources/engine/types.js';
import { createResourceDefinitions } from '../../src/resources/index.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import type { Database } from '../../src/storage/ports.js';
import { openTestDatabase, postgresSkip } from '../helpers/database.js';

interface Setup {
  readonly db: Database;
  readonly wrapper: KeyWrapper;
  readonly sealer: Sealer;
  readonly engine: ResourceEngine;
  readonly patient: ResourceDefinition;
  /** Family name → ids, as the data says now. */
  readonly families: Map<string, Set<string>>;
  /** The tokenizer's keys: refreshed every 20 ms, and on demand. */
  readonly ring: Awaited<ReturnType<typeof openIndexKeyRing>>;
}

/** A database, the envelope sealer, and the engine writing through a blind tokenizer whose keys refresh every 20 ms. */
async function setup(t: TestContext, kind: 'sqlite' | 'postgres'): Promise<Setup> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-rot-'));
  const database = await openTestDatabase(kind);
  const wrapper = await openLocalKeyWrapper({
    path: path.join(dir, 'kek-keyring.json'),
    masterKey: new MasterKey(randomBytes(32)),
  });
  const breakers = createBreakers(createSecurityEvents(pino({ level: 'silent' })));
  const sealer = createEnvelopeSealer({
    wrapper,
    store: database.db.dataKeys,
    breaker: breakers.create({ name: 'key-manager', timeoutMs: 5000, resetMs: 1000 }),
    cacheSize: 8,
  });
  const ring = await openIndexKeyRing({ store: database.db.indexKeys, wrapper, refreshMs: 20 });
  t.after(async () => {
    ring.close();
    breakers.shutdown();
    await wrapper.close();
    await database.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const [patient] = createResourceDefinitions(createBlindTokenizer(() => ring.snapshot()));
  assert.ok(patient !== undefined);
  return {
    db: database.db,
    wrapper,
    sealer,
    engine: createResourceEngine({ store: database.db.resources, sealer }),
    patient,
    families: new Map(),
    ring,
  };
}

const surnames = ['Okafor', 'Lindqvist', 'Nakamura', 'Oyelaran', 'Brennan'];

async function createPatient(s: Setup, family: string): Promise<string> {
  const created = await s.engine.create(s.patient, {
    resourceType: 'Patient',
    name: [{ family, given: ['Test'] }],
    birthDate: '1980-02-03',
  });
  const id = created.resource.id ?? '';
  s.families.set(family, (s.families.get(family) ?? new Set()).add(id));
  return id;
}

/** Every surname's search answers exactly the ids the data holds. */
async function assertSearches(s: Setup, when: string): Promise<void> {
  for (const family of surnames) {
    const page = await s.engine.search(s.patient, { family: family.slice(0, 4) }, { limit: 500 });
    const found = page.entries.map((e) => e.resource.id ?? '').sort();
    assert.deepEqual(found, [...(s.families.get(family) ?? [])].sort(), `${when}: family=${family.slice(0, 4)}`);
  }
}

/** Writes and searches until `done` settles: new patients, renames (old name unfindable, new findable). */
async function load(s: Setup, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  let rounds = 0;
  while (!finished) {
    const family = surnames[rounds % surnames.length] ?? 'Okafor';
    const id = await createPatient(s, family);
    if (rounds % 3 === 0) {
      const renamed = surnames[(rounds + 1) % surnames.length] ?? 'Brennan';
      await s.engine.update(s.patient, id, { resourceType: 'Patient', id, name: [{ family: renamed }] });
      s.families.get(family)?.delete(id);
      s.families.set(renamed, (s.families.get(renamed) ?? new Set()).add(id));
    }
    await assertSearches(s, `during the rotation, round ${String(rounds)}`);
    rounds += 1;
    // SQLite calls settle without leaving the microtask queue: give the rotation's timers a turn.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return rounds;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? await postgresSkip() : false;

  test(
    `${kind}: a rotation under a read/write load loses no search result, then leaves every row under the new key`,
    { skip },
    async (t) => {
      const s = await setup(t, kind);
      for (let i = 0; i < 40; i += 1) await createPatient(s, surnames[i % surnames.length] ?? 'Okafor');
      const [before] = await s.db.indexKeys.list();
      const events: IndexRotationProgressEvent[] = [];
      const rotation = rotateIndexKey(
        { db: s.db, wrapper: s.wrapper, sealer: s.sealer },
        {
          graceMs: 100,
          batchSize: 7,
          onProgress: (e) => {
            events.push(e);
          },
        },
      );
      const [result, rounds] = await Promise.all([rotation, load(s, rotation)]);
      assert.ok(rounds > 0, 'the load ran during the rotation');
      assert.equal(result.retiredKeyId, before?.id);
      assert.equal(result.resumed, false);
      assert.ok(result.reindexed >= 40, String(result.reindexed));
      assert.deepEqual(
        [...new Set(events.map((e) => e.phase))],
        ['introducing', 'switching', 'reindexing', 'sweeping', 'retired'],
      );
      const total = events.at(-1)?.total ?? 0;
      assert.ok(
        total >= 40 && total <= 40 + rounds,
        `total counts the resources when the rotation began: ${String(total)}`,
      );
      assert.deepEqual(
        (await s.db.indexKeys.list()).map((k) => [k.id, k.state]),
        [
          [before?.id, 'retired'],
          [result.keyId, 'written'],
        ],
      );
      for (const surname of surnames) {
        assert.deepEqual(
          await s.db.indexKeys.idsWithTokenPrefix('Patient', 'family', `${before?.id ?? ''}.`, '', 1000),
          [],
          `no ${surname} row under the old key`,
        );
      }
      assert.ok(
        (await s.db.indexKeys.idsWithTokenPrefix('Patient', 'family', `${result.keyId}.`, '', 1000)).length > 40,
      );
      // The keys as this process reads them once the old one is retired (what its 20 ms refresh would load next).
      await s.ring.refresh();
      await assertSearches(s, 'after the old key is retired');
    },
  );

  test(`${kind}: a rotation that crashes mid-way resumes from its saved progress and finishes`, { skip }, async (t) => {
    const s = await setup(t, kind);
    for (let i = 0; i < 25; i += 1) await createPatient(s, surnames[i % surnames.length] ?? 'Okafor');
    const deps = { db: s.db, wrapper: s.wrapper, sealer: s.sealer };
    const crash = new Error('simulated crash');
    await assert.rejects(
      rotateIndexKey(deps, {
        graceMs: 50,
        batchSize: 10,
        onProgress: (e) => {
          if (e.phase === 'reindexing' && e.done >= 10) throw crash;
        },
      }),
      crash,
    );
    const keys = await s.db.indexKeys.list();
    assert.deepEqual(
      keys.map((k) => k.state),
      ['searched', 'written'],
      'the new key writes, the old is still searched',
    );
    assert.deepEqual(await s.db.indexKeys.progress(keys[1]?.id ?? ''), {
      type: 'Patient',
      after: (await s.db.resources.search({ type: 'Patient', clauses: [], limit: 10 })).at(-1),
      done: 10,
    });
    await assertSearches(s, 'after the crash');
    const done: number[] = [];
    const result = await rotateIndexKey(deps, {
      graceMs: 50,
      batchSize: 10,
      onProgress: (e) => {
        if (e.phase === 'reindexing') done.push(e.done);
      },
    });
    assert.equal(result.resumed, true);
    assert.equal(result.keyId, keys[1]?.id);
    assert.deepEqual(done, [20, 25], 'continues after the first batch instead of starting over');
    assert.deepEqual(
      (await s.db.indexKeys.list()).map((k) => k.state),
      ['retired', 'written'],
    );
    assert.equal(await s.db.indexKeys.progress(keys[0]?.id ?? ''), undefined);
    await s.ring.refresh();
    await assertSearches(s, 'after the resumed rotation');
  });
}

test('replaceIndex never overwrites a newer write: a stale version is refused and the index is left alone', async (t) => {
  const s = await setup(t, 'sqlite');
  const id = await createPatient(s, 'Okafor');
  await s.engine.update(s.patient, id, { resourceType: 'Patient', id, name: [{ family: 'Brennan' }] });
  assert.equal(await s.db.indexKeys.replaceIndex('Patient', id, 1, [{ param: 'family', token: 'stale' }]), false);
  assert.equal(await s.db.indexKeys.replaceIndex('Patient', 'absent', 1, []), false);
  const page = await s.engine.search(s.patient, { family: 'brennan' }, { limit: 10 });
  assert.deepEqual(
    page.entries.map((e) => e.resource.id),
    [id],
  );
  assert.equal(await s.db.indexKeys.replaceIndex('Patient', id, 2, [{ param: 'family', token: 'fresh' }]), true);
  assert.deepEqual(await s.db.indexKeys.idsWithTokenPrefix('Patient', 'family', 'fre', '', 10), [id]);
});

test('an aborted rotation stops between batches with RotationInterruptedError, its progress saved; the next run resumes', async (t) => {
  const s = await setup(t, 'sqlite');
  for (let i = 0; i < 12; i += 1) await createPatient(s, surnames[i % surnames.length] ?? 'Okafor');
  const deps = { db: s.db, wrapper: s.wrapper, sealer: s.sealer };
  const controller = new AbortController();
  await assert.rejects(
    rotateIndexKey(deps, {
      graceMs: 30,
      batchSize: 5,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.phase === 'reindexing') controller.abort();
      },
    }),
    RotationInterruptedError,
  );
  const [, incoming] = await s.db.indexKeys.list();
  assert.equal((await s.db.indexKeys.progress(incoming?.id ?? ''))?.done, 5);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(
    rotateIndexKey(deps, { signal: aborted.signal }),
    RotationInterruptedError,
    'an already-aborted signal changes nothing',
  );
  const result = await rotateIndexKey(deps, { graceMs: 30, batchSize: 5 });
  assert.deepEqual([result.resumed, result.reindexed, result.keyId], [true, 12, incoming?.id]);
  await s.ring.refresh();
  await assertSearches(s, 'after the resumed rotation');
});
