import { KeyringError } from '../keys/local/keyring.js';
import { HsmError } from '../keys/pkcs11/errors.js';
import { randomHexId } from '../lib/random.js';
import { outcomeOf, progressOf, RotationInterruptedError, type JobOutcome, type RotationContext } from './context.js';
import { saveRotationJob, type RotationJobState } from './job-state.js';

/** Passes over the data keys before giving up on ones that keep changing under the job. */
const maxPasses = 5;

/** A wrapped key of either kind, and the store that can re-wrap it. */
interface WrappedEntry {
  readonly id: string;
  readonly kekId: string;
  readonly wrapped: Uint8Array;
  readonly rewrap: (
    expected: { kekId: string; wrapped: Uint8Array },
    next: { kekId: string; wrapped: Uint8Array },
  ) => Promise<boolean>;
}

/** Every data key and index key the KEKs wrap. */
async function wrappedKeys(context: RotationContext): Promise<WrappedEntry[]> {
  const { dataKeys, indexKeys } = context;
  const data = (await dataKeys.list()).map((key) => ({ ...key, rewrap: dataKeys.rewrap.bind(dataKeys, key.id) }));
  const index =
    indexKeys === undefined
      ? []
      : (await indexKeys.list()).map((key) => ({ ...key, rewrap: indexKeys.rewrap.bind(indexKeys, key.id) }));
  return [...data, ...index];
}

/**
 * Starts a KEK rotation: the key wrapper creates a new key-encryption key
 * (a new AES-256 key in the sealed keyring, or a new sensitive,
 * non-extractable key generated on the PKCS#11 token) and makes it current
 * for every wrap, then the job is saved. Earlier KEKs are kept: they still
 * unwrap what they wrapped until the job has re-wrapped it.
 */
export async function planKekRotation(context: RotationContext): Promise<RotationJobState> {
  const now = new Date((context.now ?? Date.now)()).toISOString();
  const retired = await context.wrapper.kekIds();
  const keys = await wrappedKeys(context);
  const targetKeyId = await context.wrapper.rotate();
  const job: RotationJobState = {
    kind: 'kek',
    jobId: randomHexId(),
    startedAt: now,
    targetKeyId,
    rotatedAt: now,
    pass: 1,
    passStartedAt: now,
    cursor: null,
    total: keys.length,
    processed: 0,
    moved: 0,
    conflicts: 0,
    failed: 0,
    retiredKeyIds: retired,
  };
  await saveRotationJob(context.kv, job);
  return job;
}

/** Re-wraps one data or index key under the current KEK; the compare-and-set keeps a concurrent re-wrap. */
async function rewrapOne(
  context: RotationContext,
  key: WrappedEntry,
  kekId: string,
): Promise<'moved' | 'conflict' | 'failed'> {
  let raw: Uint8Array;
  try {
    raw = await context.wrapper.unwrap({ kekId: key.kekId, wrapped: key.wrapped });
  } catch (error) {
    // An unknown KEK or altered bytes: that key's records were unreadable before too; leave it and report it.
    if (error instanceof KeyringError || error instanceof HsmError) return 'failed';
    throw error;
  }
  try {
    const next = await context.wrapper.wrap(raw);
    if (next.kekId !== kekId) return 'conflict';
    return (await key.rewrap({ kekId: key.kekId, wrapped: key.wrapped }, next)) ? 'moved' : 'conflict';
  } finally {
    raw.fill(0);
  }
}

/** Runs (or resumes) a KEK job: re-wraps every data key (and index key) that another KEK wraps, in batches, saving progress after each. */
export async function runKekJob(
  context: RotationContext,
  planned: RotationJobState,
  resumed: boolean,
): Promise<JobOutcome> {
  let job = planned;
  let remaining = 0;
  for (;;) {
    // The newest KEK: ours, or one a later rotation made current meanwhile.
    const kekId = await context.wrapper.currentKekId();
    job = { ...job, targetKeyId: kekId };
    const todo = (await wrappedKeys(context)).filter((key) => key.kekId !== kekId);
    remaining = todo.length;
    if (todo.length === 0 || job.pass > maxPasses) break;
    for (let start = 0; start < todo.length; start += context.batchSize) {
      if (context.signal?.aborted === true) throw new RotationInterruptedError();
      const counts = { moved: 0, conflict: 0, failed: 0 };
      for (const key of todo.slice(start, start + context.batchSize)) counts[await rewrapOne(context, key, kekId)] += 1;
      job = {
        ...job,
        processed: job.processed + counts.moved + counts.conflict + counts.failed,
        moved: job.moved + counts.moved,
        conflicts: job.conflicts + counts.conflict,
        failed: job.failed + counts.failed,
      };
      await saveRotationJob(context.kv, job);
      await context.lease.renew();
      context.onProgress(progressOf(job, 'pass'));
    }
    // Keys that cannot be unwrapped will not change on another pass.
    if (job.failed === todo.length) break;
    job = {
      ...job,
      pass: job.pass + 1,
      passStartedAt: new Date((context.now ?? Date.now)()).toISOString(),
      processed: 0,
      failed: 0,
    };
  }
  return outcomeOf('kek', job, resumed, remaining);
}
