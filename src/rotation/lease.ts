import { CaduceusError } from '../errors/index.js';
import { hostname } from 'node:os';
import type { KeyValueStore } from '../storage/ports.js';
import { randomHexId } from '../lib/random.js';

/** The KeyValueStore key of the rotation lease: one holder per deployment (every process shares the database). */
export const rotationLeaseKey = 'caduceus:key-rotation:lease';

/** Thrown when another process holds the rotation lease, or this one lost it. */
export class RotationBusyError extends CaduceusError {
  override readonly name = 'RotationBusyError';
  readonly code = 'ROTATION_BUSY';
  readonly operatorSafe = true;
}

/** A held lease: renewed while the job works, released at the end. */
export interface RotationLease {
  /** Extends the lease; throws RotationBusyError when another process took it over meanwhile. */
  renew(): Promise<void>;
  release(): Promise<void>;
}

/** Options of {@link acquireRotationLease}. */
export interface LeaseOptions {
  readonly kv: KeyValueStore;
  /** A holder that stops renewing (a crash) loses the lease after this long. */
  readonly ttlMs: number;
  /** How long to wait for another holder's lease to end; 0 gives up at once. */
  readonly waitMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Takes the rotation lease with the store's atomic setIfAbsent, so that of
 * every process of a deployment (servers on a schedule, an operator's CLI)
 * only one runs a rotation job at a time. The lease saves duplicated work;
 * correctness never rests on it: every re-seal and re-wrap is itself a
 * compare-and-set. Renewal is read-then-write (the store has no
 * compare-and-set on values): a holder stalled past its TTL may overwrite a
 * successor's lease once, and the successor then stops at its next renewal.
 */
export async function acquireRotationLease(options: LeaseOptions): Promise<RotationLease> {
  const { kv, ttlMs } = options;
  const sleep = options.sleep ?? pause;
  const holder = `${hostname()}/${String(process.pid)}/${randomHexId()}`;
  const deadline = Date.now() + options.waitMs;
  while (!(await kv.setIfAbsent(rotationLeaseKey, holder, ttlMs))) {
    if (Date.now() >= deadline)
      throw new RotationBusyError('Another process is running a key rotation; try again when it has finished');
    await sleep(Math.min(500, Math.max(1, deadline - Date.now())));
  }
  return {
    async renew() {
      if ((await kv.get(rotationLeaseKey)) !== holder)
        throw new RotationBusyError('The key-rotation lease was lost to another process');
      await kv.set(rotationLeaseKey, holder, ttlMs);
    },
    async release() {
      if ((await kv.get(rotationLeaseKey)) === holder) await kv.delete(rotationLeaseKey);
    },
  };
}
