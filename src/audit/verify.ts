/**
 * The offline audit-log verifier (DESIGN.md invariants: "verifiable
 * offline"; HIPAA 164.312(b) and 164.312(c)(1) integrity). It needs only the
 * audit store and the audit-signing public keys: no key manager, no server.
 *
 * Each writer's chain is walked in seq order, page by page, and stops at its
 * first bad row (whatever follows a bad row cannot be trusted). Row rules
 * are in row-checks.ts. The tail rule:
 *
 *   A writer's chain must end with its 'close' checkpoint. A chain that ends
 *   anywhere else was either cut (rows deleted from the end, back to an
 *   earlier checkpoint or further) or its writer crashed; both are errors,
 *   because either is worth investigating in an audit log. The only
 *   exception is a live writer: one whose last row is dated less than
 *   `openWriterGraceMs` from `now` (in either direction, for clock skew).
 *   Pick a grace larger than the checkpoint interval.
 *
 * Not detectable from the log alone: removing a writer's whole chain.
 * Export the checkpoints elsewhere if that matters.
 */
import type { PublicKeyInfo } from '../keys/ports.js';
import type { AuditRow, AuditStore } from '../storage/ports.js';
import { GENESIS_PREV_HASH } from './chain.js';
import { checkRow, isCloseCheckpoint, type ChainCursor } from './row-checks.js';

/** Options of {@link verifyAuditLog}. */
export interface VerifyOptions {
  readonly store: AuditStore;
  /** Every audit-signing public key that may have signed a checkpoint. */
  readonly publicKeys: readonly PublicKeyInfo[];
  /** The instant the tail rule measures from; defaults to the current time. */
  readonly now?: Date;
  /** A chain without a close checkpoint is still ok if its last row is this recent. */
  readonly openWriterGraceMs: number;
  /** Rows read per page; default 1000. */
  readonly pageSize?: number;
}

/** The verdict on one writer's chain. */
export interface WriterReport {
  readonly writerId: string;
  /** Rows checked (up to and including the first bad one). */
  readonly rows: number;
  /** Signed checkpoints verified, the 'open' and 'close' ones included. */
  readonly checkpoints: number;
  /** 'closed': ends with its close checkpoint; 'open': a live writer within grace; 'bad': see reason. */
  readonly status: 'closed' | 'open' | 'bad';
  readonly reason?: string;
  /** The seq of the bad row, when status is 'bad'. */
  readonly badSeq?: number;
}

/** The verdict on the whole log. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly writers: readonly WriterReport[];
  /** The first bad row found, writers taken in id order. */
  readonly firstBad?: { readonly writerId: string; readonly seq: number; readonly reason: string };
}

interface Walk {
  rows: number;
  checkpoints: number;
  lastCheckpointSeq: number;
  last: AuditRow | undefined;
  cursor: ChainCursor;
}

/** Verifies every writer's chain, checkpoints and tail; reads the store page by page. */
export async function verifyAuditLog(options: VerifyOptions): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const now = options.now ?? new Date();
  const writerIds = (await options.store.writers()).map((writer) => writer.writerId).sort();
  const writers: WriterReport[] = [];
  for (const writerId of writerIds) {
    writers.push(await verifyWriter(writerId, { ...options, pageSize, now }));
  }
  const bad = writers.find((writer) => writer.status === 'bad');
  return bad === undefined
    ? { ok: true, writers }
    : { ok: false, writers, firstBad: { writerId: bad.writerId, seq: bad.badSeq ?? 0, reason: bad.reason ?? 'bad' } };
}

async function verifyWriter(
  writerId: string,
  options: VerifyOptions & { pageSize: number; now: Date },
): Promise<WriterReport> {
  const walk: Walk = {
    rows: 0,
    checkpoints: 0,
    lastCheckpointSeq: 0,
    last: undefined,
    cursor: { writerId, expectedSeq: 1, prevHash: GENESIS_PREV_HASH, closed: false },
  };
  let afterSeq = 0;
  for (;;) {
    const page = await options.store.read({ writerId, afterSeq, limit: options.pageSize });
    for (const row of page) {
      walk.rows += 1;
      const reason = checkRow(row, walk.cursor, options.publicKeys);
      if (reason !== undefined) return bad(walk, reason, row.seq);
      advance(walk, row);
    }
    const last = page.at(-1);
    if (last === undefined || page.length < options.pageSize) break;
    afterSeq = last.seq;
  }
  return judgeTail(walk, options);
}

function advance(walk: Walk, row: AuditRow): void {
  const closed = isCloseCheckpoint(row);
  if (row.kind === 'checkpoint') {
    walk.checkpoints += 1;
    walk.lastCheckpointSeq = row.seq;
  }
  walk.last = row;
  walk.cursor = { writerId: row.writerId, expectedSeq: row.seq + 1, prevHash: row.hash, closed };
}

function judgeTail(walk: Walk, options: { now: Date; openWriterGraceMs: number }): WriterReport {
  const last = walk.last;
  if (last === undefined) return bad(walk, 'writer has no rows', 0);
  if (walk.cursor.closed) return report(walk, 'closed');
  const age = options.now.getTime() - Date.parse(last.time);
  // Math.abs: a last row dated in the future must not keep a chain "live" forever.
  if (Math.abs(age) < options.openWriterGraceMs) return report(walk, 'open');
  const uncovered = last.seq - walk.lastCheckpointSeq;
  return bad(walk, `tail cut or writer crashed: ${uncovered} rows after last checkpoint`, last.seq);
}

function report(walk: Walk, status: 'closed' | 'open'): WriterReport {
  return { writerId: walk.cursor.writerId, rows: walk.rows, checkpoints: walk.checkpoints, status };
}

function bad(walk: Walk, reason: string, seq: number): WriterReport {
  return {
    writerId: walk.cursor.writerId,
    rows: walk.rows,
    checkpoints: walk.checkpoints,
    status: 'bad',
    reason,
    badSeq: seq,
  };
}
