import type { Database } from '../storage/ports.js';
import { rotateIndexKey } from './blind-index.js';
import { createEnvelopeSealer } from '../keys/envelope/envelope-sealer.js';
import type { KeyWrapper } from '../keys/ports.js';
import { unguarded, type RotationProgress } from './context.js';
import { acquireRotationLease } from './lease.js';

/** The outcome of an index-key rotation, as `keys rotate --index` reports and audits it. */
export interface IndexOutcome {
  readonly kind: 'index';
  readonly keyId: string;
  readonly retiredKeyId: string | null;
  readonly reindexed: number;
  readonly resumed: boolean;
}

/** What {@link runIndexRotation} needs. */
export interface IndexRotationJobDependencies {
  readonly db: Pick<Database, 'kv' | 'resources' | 'indexKeys' | 'dataKeys'>;
  readonly wrapper: KeyWrapper;
  readonly leaseTtlMs: number;
  readonly leaseWaitMs: number;
  /** How long every process gets to follow a key change: rotationGraceMs of CADUCEUS_DATA_KEY_REFRESH_MS, which the servers' index key rings refresh at. */
  readonly graceMs: number;
  readonly onProgress: (progress: RotationProgress) => void;
  readonly signal?: AbortSignal;
}

/**
 * Rotates the blind-index key with src/rotation/blind-index.ts (which
 * keeps its own resumable state in the IndexKeyStore), under the same
 * deployment-wide lease as the KEK and data-key jobs, and reports its
 * steps in the shape the CLI's progress bar draws.
 */
export async function runIndexRotation(deps: IndexRotationJobDependencies): Promise<IndexOutcome> {
  const lease = await acquireRotationLease({ kv: deps.db.kv, ttlMs: deps.leaseTtlMs, waitMs: deps.leaseWaitMs });
  // rotate.ts waits between its steps without renewing: keep the lease alive meanwhile.
  const renewal = setInterval(
    () => {
      lease.renew().catch(() => undefined);
    },
    Math.max(1000, Math.floor(deps.leaseTtlMs / 3)),
  );
  try {
    const sealer = createEnvelopeSealer({
      wrapper: deps.wrapper,
      store: deps.db.dataKeys,
      breaker: unguarded,
      cacheSize: 64,
    });
    const result = await rotateIndexKey(
      { db: deps.db, wrapper: deps.wrapper, sealer },
      {
        graceMs: deps.graceMs,
        ...(deps.signal !== undefined && { signal: deps.signal }),
        onProgress: (event) => {
          deps.onProgress({
            kind: 'index',
            phase: event.phase === 'reindexing' || event.phase === 'sweeping' ? 'pass' : 'waiting',
            pass: 1,
            total: event.total,
            processed: event.done,
            moved: event.done,
            conflicts: 0,
          });
        },
      },
    );
    return { kind: 'index', ...result };
  } finally {
    clearInterval(renewal);
    await lease.release();
  }
}
