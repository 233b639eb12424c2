/**
 * A bounded queue in front of password hashing. argon2 (@node-rs/argon2) and
 * PBKDF2 (node:crypto) run on libuv's thread pool, which file-system, DNS and
 * other crypto work shares: a login burst left unbounded would occupy every
 * pool thread and stall the API. So at most `maxConcurrent` hashes run at
 * once, at most `maxWaiting` wait, and anything beyond is shed at once with
 * PasswordHashingBusyError (answered 503 + Retry-After). Hand-written because
 * load shedding on a full queue is the point, and the semaphore libraries in
 * reach (p-limit) only queue without bound.
 */
import { ApiError } from '../../errors/api-error.js';

/**
 * Thrown when the hashing queue is full. An ApiError: thrown from a Fastify
 * route it answers 503 SERVICE_UNAVAILABLE with `Retry-After` by itself;
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
  /** Tasks refused because the queue was full. */
  readonly shed: number;
}

/** Runs hashing tasks with bounded concurrency and a bounded wait list. */
export interface HashingQueue {
  /** Runs `task` when a slot is free; rejects with PasswordHashingBusyError when the wait list is full. */
  run<T>(task: () => Promise<T>): Promise<T>;
  stats(): HashingQueueStats;
}

/** Creates a queue; `maxWaiting` 0 sheds whenever every slot is busy. */
export function createHashingQueue(options: { readonly maxConcurrent: number; readonly maxWaiting: number }): HashingQueue {
  const { maxConcurrent, maxWaiting } = options;
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError('maxConcurrent must be a positive integer');
  if (!Number.isInteger(maxWaiting) || maxWaiting < 0) throw new RangeError('maxWaiting must be a non-negative integer');
  const waiting: (() => void)[] = [];
  let active = 0;
  let started = 0;
  let shed = 0;
  /** Moving average of a task's duration (ms), for Retry-After: argon2id takes ~50 ms here, PBKDF2 at 600 000 iterations ~430 ms. */
  let averageMs = 100;

  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active -= 1;
    else next(); // the slot passes straight to the next task: `active` is unchanged
  };

  const acquire = (): Promise<void> => {
    if (active < maxConcurrent) {
      active += 1;
      return Promise.resolve();
    }
    if (waiting.length >= maxWaiting) {
      shed += 1;
      // The time the queue ahead needs to drain, whole seconds, 1 to 30.
      const drainSeconds = Math.ceil(((waiting.length + active) / maxConcurrent) * averageMs / 1000);
      return Promise.reject(new PasswordHashingBusyError(Math.min(30, Math.max(1, drainSeconds))));
    }
    return new Promise((resolve) => { waiting.push(resolve); });
  };

  return {
    async run(task) {
      await acquire();
      started += 1;
      const begun = performance.now();
      try {
        return await task();
      } finally {
        averageMs = 0.8 * averageMs + 0.2 * (performance.now() - begun);
        release();
      }
    },
    stats: () => ({ active, waiting: waiting.length, started, shed }),
  };
}
