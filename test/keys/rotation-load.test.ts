/**
 * Rotation without downtime (docs/key-management.md "Rotation"): a real
 * server process takes reads and writes over HTTPS while `caduceus keys
 * rotate --data` and then `--kek` run as separate CLI processes against the
 * same database. Nothing is lost: every acknowledged write reads back, every
 * read during the rotations returns what was written, and afterwards no
 * record is left under the old data key and no data key under the old KEK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../helpers/until.js';
import type { KeyStatus } from '../../src/rotation/index.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  runCliProcess,
  signToken,
  spawnServer,
  type ServerProcess,
} from '../helpers/process.js';

interface Written {
  /** Family name of each version, index 0 = version 1. */
  readonly families: string[];
}

interface Load {
  readonly written: Map<string, Written>;
  readonly errors: string[];
  reads: number;
  writes: number;
}

function headers(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
}

function patient(family: string, id?: string): string {
  return JSON.stringify({
    resourceType: 'Patient',
    ...(id !== undefined && { id }),
    name: [{ family, given: ['Rota'] }],
    gender: 'other',
    birthDate: '1980-02-29',
  });
}

function familyOf(body: string): string | undefined {
  return (JSON.parse(body) as { name?: { family?: string }[] }).name?.[0]?.family;
}

/** Creates a patient; returns its id, or undefined when the create failed (recorded as an error). */
async function create(server: ServerProcess, token: string, load: Load, family: string): Promise<string | undefined> {
  const res = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    headers: headers(token),
    body: patient(family),
  });
  if (res.status !== 201) {
    load.errors.push(`create ${res.status}`);
    return undefined;
  }
  const id = String(res.headers.location).split('/').pop() ?? '';
  load.written.set(id, { families: [family] });
  load.writes += 1;
  return id;
}

async function update(server: ServerProcess, token: string, load: Load, id: string, family: string): Promise<void> {
  const entry = load.written.get(id);
  if (entry === undefined) return;
  const res = await httpsRequest(`${server.url}/api/v1/patients/${id}`, server.ca, {
    method: 'PUT',
    headers: headers(token),
    body: patient(family, id),
  });
  if (res.status !== 200) {
    load.errors.push(`update ${res.status}`);
    return;
  }
  entry.families.push(family);
  load.writes += 1;
}

/** Reads a random acknowledged version (current or historical) and checks its content. */
async function readBack(server: ServerProcess, token: string, load: Load, id: string): Promise<void> {
  const entry = load.written.get(id);
  if (entry === undefined) return;
  const version = 1 + Math.floor(Math.random() * entry.families.length);
  const res = await httpsRequest(`${server.url}/api/v1/patients/${id}/_history/${String(version)}`, server.ca, {
    headers: { authorization: `Bearer ${token}` },
  });
  load.reads += 1;
  if (res.status !== 200) load.errors.push(`read ${res.status}`);
  else if (familyOf(res.body) !== entry.families[version - 1])
    load.errors.push(`read of ${id} v${String(version)} returned other content`);
}

/** One worker: owns its own patients (no write conflicts between workers), creates, updates and reads until stopped. */
async function worker(
  server: ServerProcess,
  token: string,
  load: Load,
  name: string,
  stop: { stopped: boolean },
): Promise<void> {
  const mine: string[] = [];
  for (let i = 0; !stop.stopped; i += 1) {
    if (mine.length < 5 || i % 4 === 0) {
      // Only the patient this worker created: another worker's create may land while this one waits.
      const id = await create(server, token, load, `${name}n${String(i)}`);
      if (id !== undefined) mine.push(id);
    } else {
      const id = mine[i % mine.length] ?? '';
      await (i % 2 === 0 ? update(server, token, load, id, `${name}u${String(i)}`) : readBack(server, token, load, id));
    }
  }
}

async function status(scope: Parameters<typeof runCliProcess>[0], env: Record<string, string>): Promise<KeyStatus> {
  const run = await runCliProcess(scope, env, ['keys', 'status', '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as KeyStatus;
}

test(
  'a read/write load over HTTPS runs across a --data and a --kek rotation by the CLI and loses nothing',
  { timeout: 180_000 },
  async (t) => {
    const scope = await processScope(t);
    // Each process re-reads the current data key every 300 ms (the bound on a rotation going unseen).
    const env = caduceusEnv(scope.dir, {
      CADUCEUS_DATA_KEY_REFRESH_MS: '300',
      CADUCEUS_RATE_LIMIT: 'off',
      CADUCEUS_LOG_LEVEL: 'info',
    });
    const server = await spawnServer(scope, env);
    const token = await signToken(server.config, 'clinician');
    const load: Load = { written: new Map(), errors: [], reads: 0, writes: 0 };
    // Records under the first data key before any rotation.
    for (let i = 0; i < 40; i += 1) await create(server, token, load, `seed${String(i)}`);
    const before = await status(scope, env);
    const [firstKey] = before.dataKeys;
    assert.ok(
      firstKey !== undefined && before.dataKeys.length === 1 && firstKey.records === 40,
      JSON.stringify(before.dataKeys),
    );
    const firstKek = before.keks[0]?.id;

    const stop = { stopped: false };
    const workers = ['a', 'b', 'c'].map((name) => worker(server, token, load, name, stop));
    try {
      const data = await runCliProcess(scope, env, ['keys', 'rotate', '--data', '--batch', '7', '--json'], 120_000);
      assert.equal(data.code, 0, data.stderr);
      const rotated = (JSON.parse(data.stdout) as { rotated: { kind: string; moved: number }[] }).rotated;
      assert.deepEqual(
        rotated.map((outcome) => outcome.kind),
        ['data'],
      );
      const moved = rotated.map((outcome) => outcome.moved).join();
      assert.ok(Number(moved) >= 40, `moved ${moved}`);
      assert.match(data.stderr, /"event":"keys.rotation_progress"/, '--json progress lines on stderr');
      const kek = await runCliProcess(scope, env, ['keys', 'rotate', '--kek', '--json'], 60_000);
      assert.equal(kek.code, 0, kek.stderr);
      // More load on the new keys, then stop.
      const writesAtKek = load.writes;
      await until(
        () => load.writes >= writesAtKek + 20 || load.errors.length > 0,
        30_000,
        '20 more writes on the new keys',
        { intervalMs: 50 },
      );
    } finally {
      stop.stopped = true;
      await Promise.all(workers);
    }

    assert.deepEqual(load.errors, [], 'every write acknowledged and every read correct during both rotations');
    assert.ok(load.reads > 20 && load.writes > 80, `reads ${String(load.reads)}, writes ${String(load.writes)}`);
    // Every acknowledged version reads back exactly.
    for (const [id, entry] of load.written) {
      for (const [index, family] of entry.families.entries()) {
        const res = await httpsRequest(`${server.url}/api/v1/patients/${id}/_history/${String(index + 1)}`, server.ca, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 200);
        assert.equal(familyOf(res.body), family);
      }
    }
    const after = await status(scope, env);
    const versions = [...load.written.values()].reduce((sum, entry) => sum + entry.families.length, 0);
    const old = after.dataKeys.find((key) => key.id === firstKey.id);
    assert.equal(old?.state, 'retired');
    assert.equal(old.records, 0, 'no record is left under the old data key');
    const current = after.dataKeys.find((key) => key.state === 'current');
    assert.equal(current?.records, versions, 'every stored version is under the new data key');
    assert.equal(after.records.total, versions);
    const [newestKek] = after.keks;
    assert.equal(newestKek?.state, 'current');
    assert.notEqual(newestKek.id, firstKek);
    assert.deepEqual(
      after.keks
        .filter((kek) => kek.state !== 'current')
        .map((kek) => [kek.id, kek.state, kek.dataKeys, kek.indexKeys]),
      [[firstKek, 'retired', 0, 0]],
      'the old KEK is kept, retired, and wraps nothing: no data key, no index key',
    );
    t.diagnostic(
      `during the rotations: ${String(load.writes)} writes and ${String(load.reads)} reads, 0 errors; ${String(versions)} versions stored`,
    );
    assert.equal(after.job, null);
  },
);
