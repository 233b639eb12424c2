/**
 * Worker-thread entry of hash-threads.ts: computes password hashes
 * synchronously on this thread, which lowers its own scheduling priority
 * first, so a login burst gets only the CPU the API leaves idle.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { pbkdf2Sync } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';
import type { HashJob, HashReply } from './hash-threads.js';

/**
 * This thread's kernel id. Linux names it in /proc/thread-self; setpriority
 * with a thread id changes that thread alone (a Linux extension, see
 * setpriority(2) "BUGS"), which is what os.setPriority calls. Elsewhere the
 * thread keeps the process's priority and undefined is reported.
 */
function lowerOwnPriority(nice: number): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid)) return undefined;
    if (nice > 0) setPriority(tid, nice);
    return tid;
  } catch {
    return undefined;
  }
}

function run(job: HashJob): string | boolean | Uint8Array {
  switch (job.op) {
    case 'argon2.hash':
      return hashSync(job.password, job.options);
    case 'argon2.verify':
      try {
        return verifySync(job.phc, job.password);
      } catch {
        return false; // a malformed stored string matches nothing
      }
    case 'pbkdf2':
      return pbkdf2Sync(job.password, job.salt, job.iterations, job.keyBytes, 'sha256');
  }
}

const { nice } = workerData as { nice: number };
parentPort?.postMessage({ ready: lowerOwnPriority(nice) ?? null });
parentPort?.on('message', (job: HashJob) => {
  let reply: HashReply;
  try {
    reply = { ok: true, value: run(job) };
  } catch {
    // Only that it failed crosses the thread boundary: never the password.
    reply = { ok: false };
  }
  parentPort?.postMessage(reply);
});
