import { randomBytes } from 'node:crypto';
import type { ScannedBody, VersionRef } from '../storage/ports.js';
import { randomHexId } from '../lib/random.js';
import { createEnvelopeSealer, type EnvelopeSealer } from '../keys/envelope/envelope-sealer.js';
import { IntegrityError } from '../keys/envelope/errors.js';
import { dataKeyIdBytes, decodeSealed, encodeHeader, nonceBytes } from '../keys/envelope/format.js';
import {
  outcomeOf,
  progressOf,
  RotationInterruptedError,
  unguarded,
  waitRenewing,
  type JobOutcome,
  type RotationContext,
} from './context.js';
import { saveRotationJob, type RotationJobState } from './job-state.js';

/** magic (2) + format version (1): the bytes every sealed body starts with. */
const sealedPrefix = encodeHeader('0'.repeat(dataKeyIdBytes * 2), Buffer.alloc(nonceBytes)).subarray(0, 3);
const keyIdOffset = 3;

/** The first bytes of every body sealed under this data key (format.ts header). */
export function headerPrefixOf(dataKeyId: string): Buffer {
  return encodeHeader(dataKeyId, Buffer.alloc(nonceBytes)).subarray(0, keyIdOffset + dataKeyIdBytes);
}

/** Sealed bodies per data-key id, and every non-null body (sealed or not). */
export async function countSealedBodies(
  context: Pick<RotationContext, 'sealedBodies'>,
): Promise<{ total: number; byKey: Map<string, number> }> {
  const { total, bySlice } = await context.sealedBodies.count({
    prefix: sealedPrefix,
    offset: keyIdOffset,
    length: dataKeyIdBytes,
  });
  return { total, byKey: bySlice };
}

/** Plans a data-key rotation: the new key's id is chosen and saved first, so a crash before it is stored resumes with the same id. */
export async function planDataRotation(context: RotationContext): Promise<RotationJobState> {
  const now = new Date((context.now ?? Date.now)()).toISOString();
  const { byKey } = await countSealedBodies(context);
  const retired = (await context.dataKeys.list()).map((key) => key.id);
  const job: RotationJobState = {
    kind: 'data',
    jobId: randomHexId(),
    startedAt: now,
    targetKeyId: randomBytes(dataKeyIdBytes).toString('hex'),
    pass: 1,
    passStartedAt: now,
    cursor: null,
    total: [...byKey.values()].reduce((sum, n) => sum + n, 0),
    processed: 0,
    moved: 0,
    conflicts: 0,
    failed: 0,
    retiredKeyIds: retired,
  };
  await saveRotationJob(context.kv, job);
  return job;
}

/**
 * Makes the job's target the current data key, unless it already is: a new
 * random key, wrapped under the current KEK, swapped in atomically
 * (DataKeyStore.rotateCurrent). When another rotation made a newer key
 * current meanwhile, that key becomes the target.
 */
async function ensureTarget(context: RotationContext, job: RotationJobState): Promise<RotationJobState> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = await context.dataKeys.current();
    const target = await context.dataKeys.get(job.targetKeyId);
    if (target?.state === 'current')
      return job.rotatedAt === undefined
        ? { ...job, rotatedAt: new Date((context.now ?? Date.now)()).toISOString() }
        : job;
    if (target !== undefined && current !== undefined)
      return { ...job, targetKeyId: current.id, rotatedAt: new Date((context.now ?? Date.now)()).toISOString() };
    const raw = randomBytes(32);
    const wrapped = await context.wrapper.wrap(raw);
    raw.fill(0);
    const swapped = await context.dataKeys.rotateCurrent(
      {
        id: job.targetKeyId,
        kekId: wrapped.kekId,
        wrapped: wrapped.wrapped,
        createdAt: new Date((context.now ?? Date.now)()).toISOString(),
      },
      current?.id,
    );
    if (swapped) return { ...job, rotatedAt: new Date((context.now ?? Date.now)()).toISOString() };
  }
  throw new Error('The current data key kept changing during rotation');
}

/** A version re-sealed in memory, waiting for its compare-and-set. */
interface Resealed {
  readonly ref: VersionRef;
  readonly expected: Uint8Array;
  readonly body: Uint8Array;
}

/** Opens one version and seals it again under the current key; `failed` when it does not open, `skipped` when there is nothing to do. */
async function reseal(sealer: EnvelopeSealer, row: ScannedBody): Promise<Resealed | 'failed' | 'skipped'> {
  // A tombstone, a body already under the target (the scan nulls those), or one stored while encryption was off (left for its next write).
  if (row.body === null || decodeSealed(row.body) === undefined) return 'skipped';
  const ref = { type: row.type, id: row.id, version: row.version };
  let plaintext: Uint8Array;
  try {
    plaintext = await sealer.open(row.body, ref);
  } catch (error) {
    if (error instanceof IntegrityError) return 'failed';
    throw error;
  }
  try {
    return { ref, expected: row.body, body: await sealer.seal(plaintext, ref) };
  } finally {
    plaintext.fill(0);
  }
}

/**
 * One batch of the current pass: every body re-sealed in memory, then all
 * written in one transaction, each a compare-and-set on the bytes read, so a
 * version changed meanwhile keeps its change. Returns the job after it and
 * whether the pass reached the end.
 */
async function runBatch(
  context: RotationContext,
  sealer: EnvelopeSealer,
  job: RotationJobState,
): Promise<{ job: RotationJobState; ended: boolean }> {
  const page = await context.sealedBodies.scan({
    ...(job.cursor !== null && { after: job.cursor }),
    skipPrefix: headerPrefixOf(job.targetKeyId),
    limit: context.batchSize,
  });
  const resealed: Resealed[] = [];
  let failed = 0;
  for (const row of page) {
    const result = await reseal(sealer, row);
    if (result === 'failed') failed += 1;
    else if (result !== 'skipped') resealed.push(result);
  }
  const written = resealed.length === 0 ? [] : await context.sealedBodies.replaceAll(resealed);
  const moved = written.filter(Boolean).length;
  const last = page.at(-1);
  const next: RotationJobState = {
    ...job,
    cursor: last === undefined ? job.cursor : { type: last.type, id: last.id, version: last.version },
    processed: job.processed + page.length,
    moved: job.moved + moved,
    conflicts: job.conflicts + written.length - moved,
    failed: job.failed + failed,
  };
  return { job: next, ended: page.length < context.batchSize };
}

/**
 * Runs (or resumes) a data-key job: makes the target key current, then walks
 * every stored version, current and historical, re-sealing each body that
 * another key sealed. Progress is saved after every batch. A pass that
 * started before other processes could have seen the new key (the grace
 * period) is followed by one more, so that nothing they sealed with the old
 * key in between is missed.
 */
export async function runDataJob(
  context: RotationContext,
  planned: RotationJobState,
  resumed: boolean,
): Promise<JobOutcome> {
  const now = context.now ?? Date.now;
  let job = await ensureTarget(context, planned);
  await saveRotationJob(context.kv, job);
  const sealer = createEnvelopeSealer({
    wrapper: context.wrapper,
    store: context.dataKeys,
    breaker: unguarded,
    cacheSize: 64,
    currentRefreshMs: 1000,
  });
  const rotatedAtMs = Date.parse(job.rotatedAt ?? new Date(now()).toISOString());
  for (;;) {
    if (context.signal?.aborted === true) throw new RotationInterruptedError();
    const batch = await runBatch(context, sealer, job);
    job = batch.job;
    await saveRotationJob(context.kv, job);
    await context.lease.renew();
    context.onProgress(progressOf(job, 'pass'));
    if (!batch.ended) continue;
    if (Date.parse(job.passStartedAt) >= rotatedAtMs + context.graceMs) break;
    const wait = rotatedAtMs + context.graceMs - now();
    if (wait > 0) {
      context.onProgress(progressOf(job, 'waiting'));
      await waitRenewing(context, wait);
    }
    // `failed` counts the last pass only: a damaged record is met again on every pass.
    job = {
      ...job,
      pass: job.pass + 1,
      passStartedAt: new Date(now()).toISOString(),
      cursor: null,
      processed: 0,
      failed: 0,
    };
    await saveRotationJob(context.kv, job);
  }
  const { byKey } = await countSealedBodies(context);
  const remaining = [...byKey].filter(([id]) => id !== job.targetKeyId).reduce((sum, [, n]) => sum + n, 0);
  return outcomeOf('data', job, resumed, remaining);
}
