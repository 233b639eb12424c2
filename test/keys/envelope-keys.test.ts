/**
 * The data keys behind the envelope sealer, over HTTP where a client sees
 * them: KEK rotation keeps old records readable (also in a fresh process);
 * the cache of unwrapped data keys stays within its bound; a key manager
 * that does not answer turns into 503 through the `key-manager` breaker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import { createEnvelopeSealer, type EnvelopeSealer } from '../../src/keys/envelope/index.js';
import { MasterKey, openLocalKeyWrapper } from '../../src/keys/local/index.js';
import type { KeyWrapper } from '../../src/keys/ports.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { build, type SealerContext, type TestApp } from '../helpers/app.js';

const base = '/api/v1/patients';

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function create(h: TestApp, token: string, family: string): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth(token),
    payload: { resourceType: 'Patient', name: [{ family }] },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

async function familyOf(h: TestApp, token: string, id: string): Promise<string | undefined> {
  const res = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(token) });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ name: { family: string }[] }>().name[0]?.family;
}

/** A wrapper that counts unwraps and, while `hold` is set, does not answer until released (a hung HSM). */
function observedWrapper(inner: KeyWrapper): KeyWrapper & { unwraps: number; hold: boolean; release(): void } {
  let releases: (() => void)[] = [];
  const gate = async (): Promise<void> => {
    if (wrapper.hold)
      await new Promise<void>((resolve) => {
        releases.push(resolve);
      });
  };
  const wrapper = {
    unwraps: 0,
    hold: false,
    release() {
      for (const resolve of releases) resolve();
      releases = [];
    },
    currentKekId: () => inner.currentKekId(),
    async wrap(dataKey: Uint8Array) {
      await gate();
      return inner.wrap(dataKey);
    },
    async unwrap(wrapped: Parameters<KeyWrapper['unwrap']>[0]) {
      wrapper.unwraps += 1;
      await gate();
      return inner.unwrap(wrapped);
    },
    rotate: () => inner.rotate(),
    kekIds: () => inner.kekIds(),
    close: () => inner.close(),
  };
  return wrapper;
}

/** Builds the app's sealer on a local KEK keyring in the test's folder, keeping hold of the wrapper and sealer. */
function sealerOn(options: { masterKey: MasterKey; cacheSize?: number; currentRefreshMs?: number }) {
  const built: { wrapper?: ReturnType<typeof observedWrapper>; sealer?: EnvelopeSealer; kekFile?: string } = {};
  const factory = async ({ db, config, breakers }: SealerContext): Promise<EnvelopeSealer> => {
    built.kekFile = path.join(config.dataDir, 'kek-keyring.json');
    built.wrapper = observedWrapper(await openLocalKeyWrapper({ path: built.kekFile, masterKey: options.masterKey }));
    const breaker = breakers.create({
      name: 'key-manager',
      timeoutMs: config.keys.timeoutMs,
      resetMs: config.breakers.resetMs,
    });
    built.sealer = createEnvelopeSealer({
      wrapper: built.wrapper,
      store: db.dataKeys,
      breaker,
      cacheSize: options.cacheSize ?? config.keys.dataKeyCacheSize,
      ...(options.currentRefreshMs !== undefined && { currentRefreshMs: options.currentRefreshMs }),
    });
    return built.sealer;
  };
  return { factory, built };
}

test('after a KEK rotation, records written before still read, here and in a fresh process', async (t) => {
  const masterKey = new MasterKey(randomBytes(32));
  const { factory, built } = sealerOn({ masterKey });
  const h = await build(t, { sealer: factory });
  const token = await h.token('clinician');
  const before = await create(h, token, 'Before');
  const oldKek = await built.wrapper!.currentKekId();
  const newKek = await built.wrapper!.rotate();
  assert.notEqual(newKek, oldKek);
  assert.equal(await familyOf(h, token, before), 'Before');
  const after = await create(h, token, 'After');
  assert.equal(await familyOf(h, token, after), 'After');

  // A fresh process: its own wrapper handle on the rotated keyring, an empty data-key cache.
  const events = createSecurityEvents(pino({ level: 'silent' }));
  const breakers = createBreakers(events);
  t.after(() => {
    breakers.shutdown();
  });
  const fresh = createEnvelopeSealer({
    wrapper: await openLocalKeyWrapper({ path: built.kekFile!, masterKey }),
    store: h.db.dataKeys,
    breaker: breakers.create({ name: 'key-manager', timeoutMs: 5000, resetMs: 1000 }),
    cacheSize: 4,
  });
  assert.deepEqual(await built.wrapper!.kekIds(), [newKek, oldKek]);
  for (const [id, family] of [
    [before, 'Before'],
    [after, 'After'],
  ] as const) {
    const stored = await h.db.resources.readCurrent('Patient', id);
    assert.ok(stored?.body);
    const opened = JSON.parse(
      Buffer.from(await fresh.open(stored.body, { type: 'Patient', id, version: 1 })).toString('utf8'),
    ) as { name: { family: string }[] };
    assert.equal(opened.name[0]?.family, family);
  }
});

test('the cache of unwrapped data keys never holds more than its size; evicted keys are unwrapped again', async (t) => {
  // currentRefreshMs 0: each write asks the store for the current key, so retiring it behind the port makes the next write create another.
  const { factory, built } = sealerOn({ masterKey: new MasterKey(randomBytes(32)), cacheSize: 2, currentRefreshMs: 0 });
  const h = await build(t, { sealer: factory });
  const token = await h.token('clinician');
  const ids: string[] = [];
  for (const family of ['One', 'Two', 'Three', 'Four']) {
    ids.push(await create(h, token, family));
    const db = new BetterSqlite3(h.databaseUrl);
    try {
      db.exec("UPDATE data_keys SET state = 'retired' WHERE state = 'current'");
    } finally {
      db.close();
    }
  }
  assert.equal((await h.db.dataKeys.list()).length, 4, 'four data keys, one per record');
  const unwrapsBefore = built.wrapper!.unwraps;
  for (let round = 0; round < 2; round += 1) {
    for (const [index, family] of ['One', 'Two', 'Three', 'Four'].entries()) {
      assert.equal(await familyOf(h, token, ids[index]!), family);
      assert.ok(built.sealer!.cachedKeys <= 2, `cache holds ${built.sealer!.cachedKeys}`);
    }
  }
  assert.equal(built.sealer!.cachedKeys, 2);
  assert.ok(built.wrapper!.unwraps - unwrapsBefore >= 6, 'cycling four keys through a cache of two unwraps again');
});

test('a key manager that does not answer makes the request answer 503 (key-manager breaker timeout), and it recovers', async (t) => {
  const { factory, built } = sealerOn({ masterKey: new MasterKey(randomBytes(32)), cacheSize: 1, currentRefreshMs: 0 });
  const h = await build(t, { sealer: factory, env: { CADUCEUS_KEY_MANAGER_TIMEOUT_MS: '100' } });
  const token = await h.token('clinician');
  const first = await create(h, token, 'First');
  // Retire the first data key and write again: a second key is created and evicts the first from the one-key cache.
  const db = new BetterSqlite3(h.databaseUrl);
  try {
    db.exec("UPDATE data_keys SET state = 'retired' WHERE state = 'current'");
  } finally {
    db.close();
  }
  await create(h, token, 'Second');

  built.wrapper!.hold = true;
  t.after(() => {
    built.wrapper!.release();
  });
  const stuck = await h.app.inject({ method: 'GET', url: `${base}/${first}`, headers: auth(token) });
  assert.equal(stuck.statusCode, 503, stuck.body);
  assert.equal(stuck.json<{ error: { code: string } }>().error.code, 'SERVICE_UNAVAILABLE');
  assert.ok(stuck.headers['retry-after'] !== undefined);
  assert.ok(!stuck.body.includes('First'));

  built.wrapper!.hold = false;
  built.wrapper!.release();
  assert.equal(await familyOf(h, token, first), 'First', 'answers again once the key manager does');
});
