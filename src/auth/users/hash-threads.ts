/**
 * Threads of their own for password hashing (argon2id, PBKDF2), at a lower
 * scheduling priority than the rest of the process (nice, CADUCEUS_PASSWORD_HASH_NICE).
 *
 * Why not libuv's thread pool, where @node-rs/argon2 and crypto.pbkdf2 run by
 * themselves: the pool's threads run at the process's priority, so on a
 * 2-core machine a login burst's hashes took CPU time from the event loop
 * and the API's p99 rose (bench/README.md "Login burst"). A thread can lower
 * its own priority on Linux, and only a thread we start knows it is hashing.
 * The hashing queue (hashing-queue.ts) still bounds how many hashes run and
 * wait and how much CPU they may use; these threads only decide whose turn it
 * is when the CPU is busy: the API's.
 *
 * One thread per concurrent hash, started on first use; idle threads do not
 * keep the process alive.
 */
import { CaduceusError } from '../../errors/index.js';
import { Worker } from 'node:worker_threads';

/** One hash to compute: what hash-worker.ts runs. */
export type HashJob =
  | {
      readonly op: 'argon2.hash';
      readonly password: string;
      readonly options: { memoryCost: number; timeCost: number; parallelism: number };
    }
  | { readonly op: 'argon2.verify'; readonly phc: string; readonly password: string }
  | {
      readonly op: 'pbkdf2';
      readonly password: string;
      readonly salt: Uint8Array;
      readonly iterations: number;
      readonly keyBytes: number;
    };

/** The worker's answer to a job. */
export type HashReply = { readonly ok: true; readonly value: string | boolean | Uint8Array } | { readonly ok: false };

/** Computes hashes on the hashing threads. */
export interface HashThreads {
  run(job: HashJob): Promise<string | boolean | Uint8Array>;
  /** Kernel ids of the threads started so far (Linux; empty elsewhere), to check their priority. */
  threadIds(): Promise<number[]>;
  close(): Promise<void>;
}

/** Why a hash was not computed: the thread failed (never which password). */
export class HashThreadError extends CaduceusError {
  readonly code = 'HASH_THREAD_FAILED';
  readonly operatorSafe = true;
  constructor() {
    super('password hashing thread failed');
    this.name = 'HashThreadError';
  }
}

interface Thread {
  readonly worker: Worker;
  readonly ready: Promise<number | null>;
  busy: boolean;
  /** It exited or failed: never given another job. */
  dead: boolean;
}

/**
 * Creates the threads' pool. At most `size` jobs run at once (the hashing
 * queue's concurrency); a job arriving while every thread is busy waits for
 * one. `nice`: 0 to 19, added to each thread's priority (0 leaves it as is).
 */
export function createHashThreads(options: { size: number; nice: number }): HashThreads {
  const threads: Thread[] = [];
  const waiting: ((thread: Thread) => void)[] = [];
  // Under tsx (tests) the entry is the .ts source; in the build it is the .js next to this file.
  const entry = new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url);

  const start = (): Thread => {
    const worker = new Worker(entry, { workerData: { nice: options.nice } });
    worker.unref();
    const ready = new Promise<number | null>((resolve, reject) => {
      worker.once('message', (message: { ready: number | null }) => {
        resolve(message.ready);
      });
      worker.once('error', () => {
        reject(new HashThreadError());
      });
    });
    ready.catch(() => {
      /* reported to the job that waits on it */
    });
    const thread: Thread = { worker, ready, busy: true, dead: false };
    // A thread that failed or exited is replaced by the next job that needs one.
    worker.once('exit', () => {
      thread.dead = true;
      const index = threads.indexOf(thread);
      if (index >= 0) threads.splice(index, 1);
    });
    threads.push(thread);
    return thread;
  };

  const acquire = (): Promise<Thread> => {
    const idle = threads.find((thread) => !thread.busy);
    if (idle !== undefined) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (threads.length < options.size) return Promise.resolve(start());
    return new Promise((resolve) => {
      waiting.push(resolve);
    });
  };

  const release = (thread: Thread): void => {
    const next = waiting.shift();
    if (next !== undefined) {
      next(thread.dead ? start() : thread);
      return;
    }
    thread.busy = false;
    thread.worker.unref();
  };

  const runOn = async (thread: Thread, job: HashJob): Promise<string | boolean | Uint8Array> => {
    await thread.ready;
    if (thread.dead) throw new HashThreadError();
    thread.worker.ref();
    return new Promise((resolve, reject) => {
      const onExit = (): void => {
        reject(new HashThreadError());
      };
      thread.worker.once('exit', onExit);
      thread.worker.once('message', (reply: HashReply) => {
        thread.worker.off('exit', onExit);
        if (reply.ok) resolve(reply.value);
        else reject(new HashThreadError());
      });
      thread.worker.postMessage(job);
    });
  };

  return {
    async run(job) {
      const thread = await acquire();
      try {
        return await runOn(thread, job);
      } finally {
        release(thread);
      }
    },
    async threadIds() {
      const ids = await Promise.all(threads.map((thread) => thread.ready));
      return ids.filter((id): id is number => id !== null);
    },
    async close() {
      await Promise.all(threads.splice(0).map((thread) => thread.worker.terminate()));
    },
  };
}
