/**
 * A bounded queue in front of password hashing (argon2id, PBKDF2; computed
 * on the low-priority threads of hash-threads.ts): a login burst left
 * unbounded would queue without end and hold every request open. So at most
 * `maxConcurrent` hashes run at once, at most `maxWaiting` wait, and
 * anything beyond is shed at once with PasswordHashingBusyError (answered
 * 503 + Retry-After).
 *
 * Bounding the threads does not bound the CPU: two argon2id hashes at once
 * take both cores of a 2-core machine and the event loop starves (bench/README.md
 * "Login burst"). So the queue also keeps a CPU budget, a token bucket of
 * hashing milliseconds refilled at `budgetMsPerSecond`: a task is admitted
 * only while the bucket is not in debt, is charged the average hash time on
 * admission and the difference once its real time is known, and is shed
 * otherwise. The budget is counted in time, not in hashes, so PBKDF2 (8 times
 * argon2id's cost here) spends it as fast as it costs.
 *
 * Hand-written because load shedding on a full queue or an empty budget is
 * the point, and the semaphore libraries in reach (p-limit) only queue
 * without bound.
 */
import { ApiError } from '../../errors/api-error.js';

/**
 * Thrown when the hashing queue is full or its CPU budget spent. An
 * ApiError: thrown from a Fastify route it answers 503 SERVICE_UNAVAILABLE
 * with `Retry-After` by itself;
 * elsewhere (oidc-provider's Koa stack) answer the same from these fields.
 */
export class PasswordHashingBusyError extends ApiError {
  /** Seconds the client should wait before trying again. */
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('SERVICE_UNAVAILABLE', undefined, { 'retry-after': String(retryAfterSeconds) });
    this.name = 'PasswordHashingBusyError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Counters of the queue, for metrics and tests. */
export interface HashingQueueStats {
  readonly active: number;
  readonly waiting: number;
  /** Tasks started since creation. */
  readonly started: number;
  /** Tasks refused, for a full queue or an empty budget. */
  readonly shed: number;
  /** Of `shed`, those refused because the CPU budget was spent. */
  readonly overBudget: number;
}

/** Runs hashing tasks with bounded concurrency, a bounded wait list and a CPU budget. */
export interface HashingQueue {
  /** Runs `task` when a slot is free; rejects with PasswordHashingBusyError when the wait list is full or the budget spent. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Seconds a task arriving now would be told to wait (it would be shed), or undefined when it would be admitted. Changes nothing. */
  wouldShed(): number | undefined;
  stats(): HashingQueueStats;
}

/** The queue's bounds; `budgetMsPerSecond` 0 or absent means no CPU budget. */
export interface HashingQueueOptions {
  readonly maxConcurrent: number;
  readonly maxWaiting: number;
  /** Hashing milliseconds allowed per second of wall clock (1000 = one core's worth); also the largest burst. */
  readonly budgetMsPerSecond?: number;
  /** Milliseconds, monotonic; performance.now by default (tests move time). */
  readonly now?: () => number;
}

/** Whole seconds, 1 to 30, for Retry-After. */
function retrySeconds(ms: number): number {
  return Math.min(30, Math.max(1, Math.ceil(ms / 1000)));
}

function checkOptions(options: HashingQueueOptions): void {
  const { maxConcurrent, maxWaiting, budgetMsPerSecond = 0 } = options;
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)
    throw new RangeError('maxConcurrent must be a positive integer');
  if (!Number.isInteger(maxWaiting) || maxWaiting < 0)
    throw new RangeError('maxWaiting must be a non-negative integer');
  if (!Number.isFinite(budgetMsPerSecond) || budgetMsPerSecond < 0)
    throw new RangeError('budgetMsPerSecond must be a non-negative number');
}

/** Creates a queue; `maxWaiting` 0 sheds whenever every slot is busy. */
export function createHashingQueue(options: HashingQueueOptions): HashingQueue {
  checkOptions(options);
  const { maxConcurrent, maxWaiting, budgetMsPerSecond = 0 } = options;
  const clock = options.now ?? (() => performance.now());
  const waiting: (() => void)[] = [];
  let active = 0;
  let started = 0;
  let shed = 0;
  let overBudget = 0;
  /** Moving average of a task's duration (ms), for Retry-After and the budget: argon2id takes 14–57 ms on 2 cores (quiet or loaded), PBKDF2 at 600 000 iterations 140–430 ms. */
  let averageMs = 100;
  /** The budget's bucket (ms); negative is debt, which admits nothing until refilled. */
  let tokens = budgetMsPerSecond;
  let refilledAt = clock();

  const refill = (): void => {
    const at = clock();
    tokens = Math.min(budgetMsPerSecond, tokens + ((at - refilledAt) * budgetMsPerSecond) / 1000);
    refilledAt = at;
  };

  /** Seconds to tell a task that would be shed now, else undefined. */
  const busyFor = (): { seconds: number; budget: boolean } | undefined => {
    if (budgetMsPerSecond > 0) {
      refill();
      if (tokens <= 0) return { seconds: retrySeconds((-tokens * 1000) / budgetMsPerSecond + 1), budget: true };
    }
    if (active < maxConcurrent || waiting.length < maxWaiting) return undefined;
    // The time the queue ahead needs to drain.
    return { seconds: retrySeconds(((waiting.length + active) / maxConcurrent) * averageMs), budget: false };
  };

  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active -= 1;
    else next(); // the slot passes straight to the next task: `active` is unchanged
  };

  /** Admits or sheds; returns the milliseconds charged to the budget. */
  const acquire = (): Promise<number> => {
    const busy = busyFor();
    if (busy !== undefined) {
      shed += 1;
      if (busy.budget) overBudget += 1;
      return Promise.reject(new PasswordHashingBusyError(busy.seconds));
    }
    const charged = budgetMsPerSecond > 0 ? averageMs : 0;
    tokens -= charged;
    if (active < maxConcurrent) {
      active += 1;
      return Promise.resolve(charged);
    }
    return new Promise((resolve) => {
      waiting.push(() => {
        resolve(charged);
      });
    });
  };

  return {
    async run(task) {
      const charged = await acquire();
      started += 1;
      const begun = clock();
      try {
        return await task();
      } finally {
        const took = clock() - begun;
        averageMs = 0.8 * averageMs + 0.2 * took;
        if (budgetMsPerSecond > 0) tokens -= took - charged; // the estimate was charged; settle the difference
        release();
      }
    },
    wouldShed: () => busyFor()?.seconds,
    stats: () => ({ active, waiting: waiting.length, started, shed, overBudget }),
  };
}
