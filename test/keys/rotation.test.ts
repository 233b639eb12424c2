/**
 * The rotation jobs on a real database and the real `local` key wrapper
 * (docs/key-management.md "Rotation"): a data-key job interrupted between
 * batches, or killed with SIGKILL, resumes where it stopped without making
 * another key; a version that changes under the job is never overwritten; a
 * record that fails its integrity check is left and counted; a second job
 * waits for the lease.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import { openKeyProtection, type KeyProtection } from '../../src/keys/envelope/index.js';
import { createEnvelopeSealer } from '../../src/keys/envelope/envelope-sealer.js';
import {
  acquireRotationLease,
  loadRotationJob,
  RotationBusyError,
  RotationInterruptedError,
  runRotationJob,
  type RotationJobDependencies,
} from '../../src/rotation/index.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { SealContext } from '../../src/keys/ports.js';
import {
  dropPostgresSchema,
  postgresSkip,
  testPostgresBaseUrl,
  uniqueSchemaName,
  withSchema,
} from '../helpers/database.js';
import {
  caduceusEnv,
  configFor,
  processScope,
  repoRoot,
  runCliProcess,
  type ProcessScope,
} from '../helpers/process.js';

const silent = pino({ level: 'silent' });

interface Opened {
  readonly runtime: Runtime;
  readonly protection: KeyProtection & { readonly wrapper: NonNullable<KeyProtection['wrapper']> };
  readonly env: Record<string, string>;
}

/** The database, keyrings and sealer of a data folder, opened as the server opens them. */
async function open(scope: ProcessScope, env: Record<string, string>): Promise<Opened> {
  const config = configFor(env);
  const runtime = await openRuntime(config, silent);
  const protection = await openKeyProtection(config, {
    masterKey: runtime.masterKey,
    dataKeys: runtime.db.dataKeys,
    breakers: createBreakers(createSecurityEvents(silent)),
    logger: silent,
  });
  scope.defer(async () => {
    await protection.close();
    await runtime.close();
  });
  assert.ok(protection.wrapper !== null);
  return { runtime, protection: { ...protection, wrapper: protection.wrapper }, env };
}

function text(id: string, version: number): string {
  return JSON.stringify({ resourceType: 'Patient', id, note: `body of ${id} v${String(version)}` });
}

/** Commits `count` resources with two versions each, sealed as the engine seals them. */
async function seed(opened: Opened, count: number): Promise<SealContext[]> {
  const refs: SealContext[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = `r${String(i).padStart(4, '0')}`;
    for (const version of [1, 2]) {
      const context = { type: 'Patient', id, version };
      const body = await opened.protection.sealer.seal(Buffer.from(text(id, version)), context);
      const result = await opened.runtime.db.resources.commit({
        type: 'Patient',
        id,
        expectedVersion: version - 1,
        version,
        lastUpdated: new Date().toISOString(),
        deleted: false,
        body,
        index: [],
      });
      assert.equal(result, 'committed');
      refs.push(context);
    }
  }
  return refs;
}

/** Opens every version with a fresh sealer (no cached keys) and checks its content. */
async function assertReadable(opened: Opened, refs: readonly SealContext[]): Promise<void> {
  const sealer = createEnvelopeSealer({
    wrapper: opened.protection.wrapper,
    store: opened.runtime.db.dataKeys,
    breaker: { name: 'x', state: 'closed', run: (call) => call() },
    cacheSize: 4,
  });
  for (const ref of refs) {
    const stored = await opened.runtime.db.resources.readVersion(ref.type, ref.id, ref.version);
    assert.ok(stored?.body != null);
    assert.equal(Buffer.from(await sealer.open(stored.body, ref)).toString(), text(ref.id, ref.version));
  }
}

function deps(opened: Opened, extra: Partial<RotationJobDependencies> = {}): RotationJobDependencies {
  const { db } = opened.runtime;
  return {
    kv: db.kv,
    dataKeys: db.dataKeys,
    sealedBodies: db.sealedBodies,
    wrapper: opened.protection.wrapper,
    batchSize: 5,
    graceMs: 0,
    leaseTtlMs: 5000,
    leaseWaitMs: 0,
    onProgress: () => undefined,
    ...extra,
  };
}

async function setUp(
  t: TestContext,
  count: number,
  database: 'sqlite' | 'postgres' = 'sqlite',
): Promise<{ scope: ProcessScope; opened: Opened; refs: SealContext[] }> {
  const scope = await processScope(t, 'caduceus-rotation-');
  const extra: Record<string, string> = { CADUCEUS_DATA_KEY_REFRESH_MS: '100' };
  if (database === 'postgres') {
    const schema = uniqueSchemaName();
    extra.CADUCEUS_DATABASE_URL = withSchema(testPostgresBaseUrl(), schema);
    scope.defer(() => dropPostgresSchema(schema));
  }
  const opened = await open(scope, caduceusEnv(scope.dir, extra));
  return { scope, opened, refs: await seed(opened, count) };
}

async function stopAndResume(t: TestContext, database: 'sqlite' | 'postgres'): Promise<void> {
  const { opened, refs } = await setUp(t, 20, database);
  const { db } = opened.runtime;
  const [firstKey] = await db.dataKeys.list();
  const controller = new AbortController();
  let batches = 0;
  await assert.rejects(
    runRotationJob(
      'data',
      deps(opened, {
        signal: controller.signal,
        onProgress: () => {
          batches += 1;
          if (batches === 3) controller.abort();
        },
      }),
    ),
    RotationInterruptedError,
  );
  const saved = await loadRotationJob(db.kv);
  assert.ok(saved !== undefined, 'progress is persisted');
  assert.equal(saved.kind, 'data');
  assert.equal(saved.processed, 15, 'three batches of five');
  assert.ok(saved.cursor !== null);
  assert.equal((await db.dataKeys.list()).length, 2, 'the new key is current; the old one retired');
  await assertReadable(opened, refs);

  const outcomes = await runRotationJob('data', deps(opened));
  assert.equal(outcomes.length, 1, 'resuming a data job is the whole run: no further key is made');
  const [outcome] = outcomes;
  assert.equal(outcome?.resumed, true);
  assert.equal(outcome.keyId, saved.targetKeyId);
  assert.equal(outcome.remaining, 0);
  assert.equal(outcome.moved, 40, 'every version moved exactly once over both runs');
  assert.deepEqual(outcome.retiredKeyIds, [firstKey?.id]);
  assert.equal((await db.dataKeys.list()).length, 2);
  assert.equal(await loadRotationJob(db.kv), undefined, 'a finished job is forgotten');
  await assertReadable(opened, refs);

  const [kek] = await runRotationJob('kek', deps(opened));
  assert.deepEqual([kek?.kind, kek?.moved, kek?.remaining], ['kek', 2, 0], 'both data keys re-wrapped');
  const current = await opened.protection.wrapper.currentKekId();
  assert.equal(kek?.keyId, current);
  assert.ok((await db.dataKeys.list()).every((key) => key.kekId === current));
  await assertReadable(opened, refs);
}

test('a data-key job stopped between batches saves its place; the next run resumes it, makes no second key and finishes; a KEK job then re-wraps every key', (t) =>
  stopAndResume(t, 'sqlite'));

test(
  'postgres: a data-key job stopped between batches resumes and finishes; a KEK job then re-wraps every key',
  { skip: await postgresSkip() },
  async (t) => {
    await stopAndResume(t, 'postgres');
  },
);

test('a version that changes under the job is never overwritten: the compare-and-set refuses, and the body stays the newer one', async (t) => {
  const { opened, refs } = await setUp(t, 3);
  const { db } = opened.runtime;
  const target = refs[0]!;
  const concurrent = '{"resourceType":"Patient","note":"written while the job ran"}';
  const replacement = await opened.protection.sealer.seal(Buffer.from(concurrent), target);
  let swapped = false;
  // The "concurrent writer": just before the job's compare-and-set on the first row, the row is changed behind it.
  const sealedBodies = {
    ...db.sealedBodies,
    scan: db.sealedBodies.scan.bind(db.sealedBodies),
    count: db.sealedBodies.count.bind(db.sealedBodies),
    replace: db.sealedBodies.replace.bind(db.sealedBodies),
    async replaceAll(items: readonly { ref: SealContext; expected: Uint8Array; body: Uint8Array }[]) {
      const first = items.find(({ ref }) => ref.id === target.id && ref.version === target.version);
      if (!swapped && first !== undefined) {
        swapped = true;
        assert.equal(await db.sealedBodies.replace(first.ref, first.expected, replacement), true);
      }
      return db.sealedBodies.replaceAll(items);
    },
  };
  const [outcome] = await runRotationJob('data', { ...deps(opened), sealedBodies });
  assert.equal(outcome?.conflicts, 1);
  const stored = await db.resources.readVersion(target.type, target.id, target.version);
  assert.ok(stored?.body != null);
  // The replacement was sealed under the old key, so the job's next pass moved it too: the newer content survived, re-sealed.
  assert.equal(outcome.remaining, 0);
  assert.equal(outcome.passes, 2);
  const fresh = createEnvelopeSealer({
    wrapper: opened.protection.wrapper,
    store: db.dataKeys,
    breaker: { name: 'x', state: 'closed', run: (call) => call() },
    cacheSize: 4,
  });
  assert.equal(Buffer.from(await fresh.open(stored.body, target)).toString(), concurrent);
  assert.equal(Buffer.from(stored.body).toString('hex', 3, 19), outcome.keyId, 'and it is under the new key');
  await assertReadable(opened, refs.slice(1));
});

test('a record that fails its integrity check is left as it is and counted; everything else moves', async (t) => {
  const { opened, refs } = await setUp(t, 4);
  // Tamper with one stored body behind the sealer: one ciphertext byte (after the 31-byte header) flipped.
  const { db } = opened.runtime;
  const stored = await db.resources.readVersion('Patient', 'r0001', 1);
  assert.ok(stored?.body != null);
  const tampered = Buffer.from(stored.body);
  tampered[31] = (tampered[31] ?? 0) ^ 1;
  assert.equal(
    await db.sealedBodies.replace({ type: 'Patient', id: 'r0001', version: 1 }, stored.body, tampered),
    true,
  );
  const [outcome] = await runRotationJob('data', deps(opened));
  assert.equal(outcome?.failed, 1);
  assert.equal(outcome.remaining, 1, 'the damaged record stays under the old key (which is kept)');
  assert.equal(outcome.moved, refs.length - 1);
});

test('the lease: a second job while one holds it is refused at once, or waits for it and runs', async (t) => {
  const { opened } = await setUp(t, 1);
  const lease = await acquireRotationLease({ kv: opened.runtime.db.kv, ttlMs: 5000, waitMs: 0 });
  await assert.rejects(runRotationJob('data', deps(opened)), RotationBusyError);
  // The waiting job's pause between two tries is the test's own: the holder lets go during it, no real time passes.
  let pauses = 0;
  const waiting = deps(opened, {
    leaseWaitMs: 5000,
    sleep: async () => {
      pauses += 1;
      await lease.release();
    },
  });
  const [outcome] = await runRotationJob('data', waiting);
  assert.equal(pauses, 1, 'the job found the lease held, waited once, and took it');
  assert.equal(outcome?.remaining, 0);
});

test(
  'crash: `keys rotate --data` killed with SIGKILL mid-job is resumed and finished by the next run',
  { timeout: 120_000 },
  async (t) => {
    const { scope, opened, refs } = await setUp(t, 150);
    const env = opened.env;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'rotate', '--data', '--batch', '2', '--json'],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.once('close', (_code, signal: NodeJS.Signals | null) => {
        resolve(signal);
      });
    });
    scope.defer(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let progressLines = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      progressLines += (chunk.toString().match(/keys\.rotation_progress/g) ?? []).length;
      if (progressLines >= 5 && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    assert.equal(await exited, 'SIGKILL', 'the job was killed before it finished');
    const saved = await loadRotationJob(opened.runtime.db.kv);
    assert.ok(
      saved !== undefined && saved.processed >= 10 && saved.processed < refs.length,
      `saved progress: ${JSON.stringify(saved)}`,
    );

    // The killed run's lease lapses (15 s); the next run waits for it, then resumes.
    const again = await runCliProcess(scope, env, ['keys', 'rotate', '--data', '--json'], 90_000);
    assert.equal(again.code, 0, again.stderr);
    const [outcome] = (
      JSON.parse(again.stdout) as { rotated: { resumed: boolean; keyId: string; remaining: number }[] }
    ).rotated;
    assert.equal(outcome?.resumed, true);
    assert.equal(outcome.keyId, saved.targetKeyId);
    assert.equal(outcome.remaining, 0);
    assert.equal((await opened.runtime.db.dataKeys.list()).length, 2, 'one rotation, one new key');
    await assertReadable(opened, refs);
  },
);

test('settings: CADUCEUS_KEY_ROTATION_DAYS is off by default, 1–3650 days otherwise; CADUCEUS_DATA_KEY_REFRESH_MS is bounded', () => {
  const env = caduceusEnv('/tmp/caduceus-settings-only');
  assert.equal(configFor(env).keys.rotation.days, null);
  assert.equal(configFor({ ...env, CADUCEUS_KEY_ROTATION_DAYS: 'off' }).keys.rotation.days, null);
  assert.equal(configFor({ ...env, CADUCEUS_KEY_ROTATION_DAYS: '90' }).keys.rotation.days, 90);
  assert.equal(configFor(env).keys.dataKeyRefreshMs, 30_000);
  for (const [name, value] of [
    ['CADUCEUS_KEY_ROTATION_DAYS', '0'],
    ['CADUCEUS_KEY_ROTATION_DAYS', '3651'],
    ['CADUCEUS_KEY_ROTATION_DAYS', 'weekly'],
    ['CADUCEUS_DATA_KEY_REFRESH_MS', '50'],
  ] as const) {
    assert.throws(
      () => configFor({ ...env, [name]: value }),
      (error: unknown) =>
        error instanceof Error &&
        error.name === 'ConfigError' &&
        error.message.includes(name) &&
        !error.message.includes('weekly'),
    );
  }
});
