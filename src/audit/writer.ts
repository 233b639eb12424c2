/**
 * The durable audit writer (DESIGN.md request path, layer 7; HIPAA
 * 164.312(b)). Each instance is one writer with its own hash chain: the seq
 * counter and last hash live here, never in module state, so a server
 * process and a CLI run never interleave one chain.
 *
 * Group commit: every event recorded in one tick goes into one
 * `store.append` (one transaction); only one append is in flight, and events
 * arriving meanwhile form the next batch. `record` resolves only once its
 * batch is committed, and rejects if it is not, so the API fails closed.
 */
import { CaduceusError } from '../errors/index.js';
import { randomBytes } from 'node:crypto';
import type { KeyManager } from '../keys/ports.js';
import type { AuditRow, AuditStore } from '../storage/ports.js';
import { canonicalJson } from './canonical.js';
import { chainHash, GENESIS_PREV_HASH } from './chain.js';
import { signCheckpoint, type CheckpointType } from './checkpoint.js';
import type { AuditEvent, AuditLog } from './event.js';

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  readonly store: AuditStore;
  readonly keys: KeyManager;
  /** Defaults to `w-` and 16 random hex digits. */
  readonly writerId?: string;
  /** A signed checkpoint is written this often if any event was written since the last one. */
  readonly checkpointIntervalMs: number;
  /** Largest batch; reaching it flushes at once. Default 256. */
  readonly maxBatch?: number;
  /** Failures nobody awaits (the periodic checkpoint). */
  readonly onError?: (err: unknown) => void;
  readonly now?: () => Date;
}

/** Why an audit write did not become durable; the API answers 503 (fail closed). */
export class AuditWriteError extends CaduceusError {
  readonly code = 'AUDIT_WRITE_FAILED';
  readonly operatorSafe = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditWriteError';
  }
}

interface Job {
  readonly what: { kind: 'event'; event: AuditEvent } | { kind: 'checkpoint'; type: CheckpointType };
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Built {
  readonly rows: AuditRow[];
  readonly accepted: Job[];
  readonly seq: number;
  readonly hash: string;
  readonly uncheckpointed: boolean;
}

const WRITER_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const RESYNC_PAGE = 1000;

/** Opens a writer: writes its signed 'open' checkpoint (seq 1), then starts the checkpoint timer. */
export async function createAuditLog(options: AuditLogOptions): Promise<AuditLog & { readonly writerId: string }> {
  const writer = new AuditWriter(options);
  await writer.open(options.checkpointIntervalMs);
  return writer;
}

class AuditWriter implements AuditLog {
  readonly writerId: string;
  readonly #store: AuditStore;
  readonly #keys: KeyManager;
  readonly #maxBatch: number;
  readonly #onError: (err: unknown) => void;
  readonly #now: () => Date;
  // Last committed state of the chain; advanced only after an append commits.
  #seq = 0;
  #hash = GENESIS_PREV_HASH;
  #uncheckpointed = false;
  #queue: Job[] = [];
  #scheduled = false;
  #draining = false;
  #resync = false;
  #checkpointQueued = false;
  #closing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AuditLogOptions) {
    const maxBatch = options.maxBatch ?? 256;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
    if (!Number.isSafeInteger(options.checkpointIntervalMs) || options.checkpointIntervalMs < 1) {
      throw new RangeError('checkpointIntervalMs must be a positive integer');
    }
    const writerId = options.writerId ?? `w-${randomBytes(8).toString('hex')}`;
    if (!WRITER_ID.test(writerId)) throw new RangeError('writerId must be 1-128 characters of [A-Za-z0-9._:-]');
    this.writerId = writerId;
    this.#store = options.store;
    this.#keys = options.keys;
    this.#maxBatch = maxBatch;
    this.#onError = options.onError ?? (() => undefined);
    this.#now = options.now ?? (() => new Date());
  }

  /** Writes the signed 'open' row, so deleting a chain's head is detectable. */
  async open(checkpointIntervalMs: number): Promise<void> {
    await this.#enqueue({ kind: 'checkpoint', type: 'open' });
    this.#timer = setInterval(() => {
      this.#onTick();
    }, checkpointIntervalMs);
    this.#timer.unref();
  }

  record(event: AuditEvent): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new AuditWriteError('audit log is closed'));
    return this.#enqueue({ kind: 'event', event });
  }

  checkpoint(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new AuditWriteError('audit log is closed'));
    return this.#enqueue({ kind: 'checkpoint', type: 'checkpoint' });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#timer);
    // Queued after every pending event, so the close checkpoint covers them all.
    await this.#enqueue({ kind: 'checkpoint', type: 'close' });
  }

  #onTick(): void {
    if (!this.#uncheckpointed || this.#checkpointQueued || this.#closing !== undefined) return;
    this.#checkpointQueued = true;
    this.#enqueue({ kind: 'checkpoint', type: 'checkpoint' })
      .catch(this.#onError)
      .finally(() => {
        this.#checkpointQueued = false;
      });
  }

  #enqueue(what: Job['what']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ what, resolve, reject });
      if (this.#queue.length >= this.#maxBatch) {
        this.#kick();
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#kick();
        });
      }
    });
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = true;
    void this.#drain().finally(() => {
      this.#draining = false;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** One append in flight at a time; whatever queued meanwhile is the next batch. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      await this.#commit(batch);
    }
  }

  /** Never throws: settles every job of the batch. */
  async #commit(batch: Job[]): Promise<void> {
    let built: Built | undefined;
    try {
      if (this.#resync) await this.#resyncFromStore();
      built = await this.#build(batch);
      if (built.rows.length > 0) await this.#store.append(built.rows);
    } catch (err) {
      // Nothing advances: the next batch continues from the last committed row.
      this.#resync = true;
      const failure = new AuditWriteError('audit append failed', { cause: err });
      for (const job of built?.accepted ?? batch) job.reject(failure);
      return;
    }
    this.#seq = built.seq;
    this.#hash = built.hash;
    this.#uncheckpointed = built.uncheckpointed;
    for (const job of built.accepted) job.resolve();
  }

  /** Chains the batch from the last committed row; a job that cannot become a row is rejected alone. */
  async #build(batch: readonly Job[]): Promise<Built> {
    let seq = this.#seq;
    let hash = this.#hash;
    let uncheckpointed = this.#uncheckpointed;
    const rows: AuditRow[] = [];
    const accepted: Job[] = [];
    for (const job of batch) {
      let row: Pick<AuditRow, 'kind' | 'time' | 'payload'>;
      try {
        row =
          job.what.kind === 'event' ? eventRow(job.what.event) : await this.#checkpointRow(job.what.type, seq, hash);
      } catch (err) {
        job.reject(new AuditWriteError(`audit ${job.what.kind} could not be written`, { cause: err }));
        continue;
      }
      seq += 1;
      const rowHash = chainHash(hash, row.payload);
      rows.push({ writerId: this.writerId, seq, ...row, prevHash: hash, hash: rowHash });
      hash = rowHash;
      uncheckpointed = row.kind === 'event';
      accepted.push(job);
    }
    return { rows, accepted, seq, hash, uncheckpointed };
  }

  async #checkpointRow(
    type: CheckpointType,
    seq: number,
    hash: string,
  ): Promise<Pick<AuditRow, 'kind' | 'time' | 'payload'>> {
    const time = this.#now().toISOString();
    // Signing may be slow (HSM); it runs before the append, never inside a transaction.
    const payload = await signCheckpoint(this.#keys, { type, writerId: this.writerId, seq, hash, time });
    return { kind: 'checkpoint', time, payload: canonicalJson(payload) };
  }

  /** An append that threw may still have committed (connection lost after COMMIT): adopt what the store holds. */
  async #resyncFromStore(): Promise<void> {
    for (;;) {
      const rows = await this.#store.read({ writerId: this.writerId, afterSeq: this.#seq, limit: RESYNC_PAGE });
      const last = rows.at(-1);
      if (last === undefined) break;
      this.#seq = last.seq;
      this.#hash = last.hash;
      this.#uncheckpointed = last.kind === 'event';
    }
    this.#resync = false;
  }
}

/** The row time is the event's own time, so the hash covers it (verify.ts checks they are equal). */
function eventRow(event: AuditEvent): Pick<AuditRow, 'kind' | 'time' | 'payload'> {
  if (Number.isNaN(Date.parse(event.time))) throw new TypeError('audit event time is not an ISO 8601 instant');
  return { kind: 'event', time: event.time, payload: canonicalJson(event) };
}
