import type { JobOutcome, RotationContext } from './context.js';
import { planDataRotation, runDataJob } from './data-rotation.js';
import { clearRotationJob, loadRotationJob, type RotationJobState } from './job-state.js';
import { planKekRotation, runKekJob } from './kek-rotation.js';
import { acquireRotationLease } from './lease.js';

/** What a background rotation job needs from its process: the job's context, with the lease still to take. */
export type RotationJobDependencies = Omit<RotationContext, 'lease'> & {
  /** The lease lapses this long after its holder stopped renewing (a crash). */
  readonly leaseTtlMs: number;
  /** How long to wait for another process's job; 0 gives up at once. */
  readonly leaseWaitMs: number;
};

function runJob(context: RotationContext, job: RotationJobState, resumed: boolean): Promise<JobOutcome> {
  return job.kind === 'data' ? runDataJob(context, job, resumed) : runKekJob(context, job, resumed);
}

/**
 * Runs a KEK or data-key rotation as a resumable background job under the
 * deployment-wide lease (lease.ts). An unfinished job (a crash, an
 * interruption) is finished first: when it is of the kind asked for, that is
 * the whole run and no further key is made; otherwise the new rotation
 * follows. `kind` undefined only resumes. Returns every job finished.
 */
export async function runRotationJob(
  kind: 'kek' | 'data' | undefined,
  deps: RotationJobDependencies,
): Promise<JobOutcome[]> {
  const lease = await acquireRotationLease({
    kv: deps.kv,
    ttlMs: deps.leaseTtlMs,
    waitMs: deps.leaseWaitMs,
    ...(deps.sleep !== undefined && { sleep: deps.sleep }),
  });
  const context: RotationContext = { ...deps, lease };
  const outcomes: JobOutcome[] = [];
  try {
    const unfinished = await loadRotationJob(deps.kv);
    if (unfinished !== undefined) {
      outcomes.push(await runJob(context, unfinished, true));
      await clearRotationJob(deps.kv);
      if (unfinished.kind === kind) return outcomes;
    }
    if (kind === undefined) return outcomes;
    const planned = kind === 'data' ? await planDataRotation(context) : await planKekRotation(context);
    outcomes.push(await runJob(context, planned, false));
    await clearRotationJob(deps.kv);
    return outcomes;
  } finally {
    await lease.release();
  }
}

/**
 * How long a data-key job lets other processes catch up before its last
 * pass: each re-reads the current key every CADUCEUS_DATA_KEY_REFRESH_MS
 * (DataKeyRing), so twice that plus a second for a write in flight.
 */
export function rotationGraceMs(dataKeyRefreshMs: number): number {
  return 2 * dataKeyRefreshMs + 1000;
}

/** Lease bounds: a crashed holder's lease lapses after `ttlMs`; a CLI run waits `waitMs` for another job. */
export const rotationLease = { ttlMs: 15_000, waitMs: 30_000 } as const;
