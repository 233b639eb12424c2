import { Worker } from 'node:worker_threads';
import { StorageError, type StorageFailure } from '../errors.js';
import type { AuditRow } from '../ports.js';

/** A batch as one flat array, seven fields a row in column order (append-worker.ts reads it back). */
export type FlatRows = (string | number)[];

/**
 * Structured clone copies an array of strings faster than one object per
 * row (postMessage was 2.4% of a read's CPU with objects).
 */
function flattenRows(rows: readonly AuditRow[]): FlatRows {
  const flat: FlatRows = [];
  for (const r of rows) flat.push(r.writerId, r.seq, r.time, r.kind, r.payload, r.prevHash, r.hash);
  return flat;
}

/** Appends audit rows through the worker thread of append-worker.ts. */
export interface BackgroundAppender {
  append(rows: readonly AuditRow[]): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Starts the append worker for a database file (`:memory:` cannot be shared
 * between threads, so it keeps appending in-thread). The worker is only
 * referenced while a batch is in flight, so it never keeps a process alive.
 */
export function startBackgroundAppender(file: string, busyTimeoutMs: number): BackgroundAppender {
  // Under tsx (tests) the entry is the .ts source; in the build it is the .js next to this file.
  const entry = new URL(import.meta.url.endsWith('.ts') ? './append-worker.ts' : './append-worker.js', import.meta.url);
  const worker = new Worker(entry, { workerData: { file, busyTimeoutMs } });
  worker.unref();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failed: StorageError | undefined;

  const failAll = (error: StorageError): void => {
    failed = error;
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
  };
  worker.on('message', (message: { id: number; failure: StorageFailure | null }) => {
    const entry = pending.get(message.id);
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if (message.failure === null) entry?.resolve();
    else entry?.reject(new StorageError('audit.append', message.failure));
  });
  worker.on('error', () => {
    failAll(new StorageError('audit.append', 'unavailable'));
  });
  worker.on('exit', () => {
    failAll(new StorageError('audit.append', 'unavailable'));
  });

  return {
    append(rows) {
      if (failed !== undefined) return Promise.reject(failed);
      return new Promise<void>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, rows: flattenRows(rows) });
      });
    },
    async close() {
      if (failed !== undefined) return;
      const exited = new Promise<void>((resolve) => {
        worker.once('exit', () => {
          resolve();
        });
      });
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}
