import { CaduceusError } from '../errors/index.js';
import type { Breaker } from '../lib/circuit-breaker.js';
import type { DataKeyStore, IndexKeyStore, KeyValueStore, SealedBodyStore } from '../storage/ports.js';
import type { KeyWrapper } from '../keys/ports.js';
import type { RotationJobState } from './job-state.js';
import type { RotationLease } from './lease.js';

/** One progress report of a running job (the CLI draws it; the server logs it). */
export interface RotationProgress {
  readonly kind: 'kek' | 'data' | 'index';
  /** `pass`: walking records; `waiting`: letting other processes see the new key before the last pass. */
  readonly phase: 'pass' | 'waiting';
  readonly pass: number;
  readonly total: number;
  readonly processed: number;
  readonly moved: number;
  readonly conflicts: number;
}

/** What a rotation job works on. */
export interface RotationContext {
  readonly kv: KeyValueStore;
  readonly dataKeys: DataKeyStore;
  /** Blind-index keys, wrapped by the same KEKs: a KEK job re-wraps them too. */
  readonly indexKeys?: Pick<IndexKeyStore, 'list' | 'rewrap'>;
  readonly sealedBodies: SealedBodyStore;
  readonly wrapper: KeyWrapper;
  readonly lease: RotationLease;
  /** Most records (or data keys) handled between two progress saves; bounds memory and each transaction. */
  readonly batchSize: number;
  /**
   * How long after a data-key rotation another process may still seal with
   * the old key: its DataKeyRing re-reads the current key every
   * CADUCEUS_DATA_KEY_REFRESH_MS, plus a write in flight.
   */
  readonly graceMs: number;
  readonly onProgress: (progress: RotationProgress) => void;
  /** Stops the job between two batches; its progress is saved and the next run resumes it. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The figures of one finished job. */
export interface JobOutcome {
  readonly kind: 'kek' | 'data';
  readonly jobId: string;
  /** True when this run finished a job an earlier run had started (a crash, an interruption). */
  readonly resumed: boolean;
  /** The key everything now uses. */
  readonly keyId: string;
  /** The keys it replaced (now retired; kept: they still open backups and anything a failed row holds). */
  readonly retiredKeyIds: readonly string[];
  readonly passes: number;
  readonly moved: number;
  readonly conflicts: number;
  /** Records that failed their integrity check and were left as they are (raised separately as security events). */
  readonly failed: number;
  /** What is still protected by another key when the job ends: 0 unless a row failed or a process lagged. */
  readonly remaining: number;
}

/** The outcome of a finished job, from its state: the retired keys are those it replaced, not the one it moved to. */
export function outcomeOf(
  kind: JobOutcome['kind'],
  job: RotationJobState,
  resumed: boolean,
  remaining: number,
): JobOutcome {
  return {
    kind,
    jobId: job.jobId,
    resumed,
    keyId: job.targetKeyId,
    retiredKeyIds: job.retiredKeyIds.filter((id) => id !== job.targetKeyId),
    passes: job.pass,
    moved: job.moved,
    conflicts: job.conflicts,
    failed: job.failed,
    remaining,
  };
}

/** The breaker-shaped wrapper a rotation job's own data-key ring runs under: a job is not on the request path. */
export const unguarded: Breaker = { name: 'key-rotation', state: 'closed', run: (call) => call() };

/** Thrown when a job stops on its signal; its progress is saved. */
export class RotationInterruptedError extends CaduceusError {
  override readonly name = 'RotationInterruptedError';
  readonly code = 'ROTATION_INTERRUPTED';
  readonly operatorSafe = true;
  constructor() {
    super('The key rotation was interrupted; run it again to resume');
  }
}

/** Reports a job's state as progress. */
export function progressOf(job: RotationJobState, phase: RotationProgress['phase']): RotationProgress {
  return {
    kind: job.kind,
    phase,
    pass: job.pass,
    total: job.total,
    processed: job.processed,
    moved: job.moved,
    conflicts: job.conflicts,
  };
}

/** Waits `ms`, renewing the lease meanwhile and stopping early on the signal. */
export async function waitRenewing(context: RotationContext, ms: number): Promise<void> {
  const sleep =
    context.sleep ??
    ((wait: number) =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, wait);
      }));
  const now = context.now ?? Date.now;
  const until = now() + ms;
  while (now() < until) {
    if (context.signal?.aborted === true) throw new RotationInterruptedError();
    await sleep(Math.min(1000, until - now()));
    await context.lease.renew();
  }
}
