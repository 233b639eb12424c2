/**
 * Worker-thread entry: appends audit batches on its own connection to the
 * audit file, so the fsync of each group commit (synchronous=FULL) never
 * blocks the event loop that serves requests. Events that arrive while one
 * batch is being made durable simply form the next, larger batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FlatRows } from './background-appender.js';
import { openSqliteConnection } from './connection.js';
import { toSqliteStorageError } from './errors.js';

interface AppendRequest {
  readonly id: number;
  readonly rows: FlatRows;
}

const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number };
const db = openSqliteConnection(file, busyTimeoutMs);
const insert = db.prepare(
  `INSERT INTO audit_log (writer_id, seq, time, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
);
const appendAll = db.transaction((rows: FlatRows) => {
  for (let i = 0; i < rows.length; i += 7) insert.run(...rows.slice(i, i + 7));
});

parentPort?.on('message', (request: AppendRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  try {
    appendAll.immediate(request.rows);
    parentPort?.postMessage({ id: request.id, failure: null });
  } catch (error) {
    // Only the failure class crosses the thread boundary: no SQL, no path.
    parentPort?.postMessage({ id: request.id, failure: toSqliteStorageError('audit.append', error).reason });
  }
});
