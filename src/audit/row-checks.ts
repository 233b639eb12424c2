/**
 * The per-row checks of the offline verifier (verify.ts), in the order they
 * run. Each returns why the row is bad, or undefined. Together they bind
 * every stored column: seq by contiguity, prevHash/hash by the chain, time
 * and kind by the hashed payload, writerId by the signed checkpoints.
 */
import type { PublicKeyInfo } from '../keys/ports.js';
import type { AuditRow } from '../storage/ports.js';
import { canonicalJson } from './canonical.js';
import { chainHash } from './chain.js';
import { checkCheckpointSignature, parseCheckpoint } from './checkpoint.js';

/** Where the walk of one writer's chain stands before the next row. */
export interface ChainCursor {
  readonly writerId: string;
  readonly expectedSeq: number;
  readonly prevHash: string;
  /** True once a 'close' checkpoint was seen: nothing may follow it. */
  readonly closed: boolean;
}

/** Checks one row against the chain so far; returns the reason it is bad, or undefined. */
export function checkRow(row: AuditRow, cursor: ChainCursor, publicKeys: readonly PublicKeyInfo[]): string | undefined {
  if (cursor.closed) return 'row after the close checkpoint (inserted row)';
  if (row.writerId !== cursor.writerId) return 'row of another writer in this chain';
  if (row.seq > cursor.expectedSeq) return `seq gap: expected ${cursor.expectedSeq}, found ${row.seq} (deleted rows)`;
  if (row.seq < cursor.expectedSeq)
    return `seq out of order: expected ${cursor.expectedSeq}, found ${row.seq} (inserted or duplicated row)`;
  if (row.prevHash !== cursor.prevHash)
    return 'chain break: prevHash does not match the previous row (rows inserted, removed or reordered)';
  if (chainHash(row.prevHash, row.payload) !== row.hash) return 'hash mismatch: row edited';
  const parsed = parseCanonical(row.payload);
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'payload is not a JSON object';
  if ((parsed as { time?: unknown }).time !== row.time) return 'row time does not match its payload';
  if (row.seq === 1 && !isOpenCheckpoint(row, parsed))
    return 'first row is not the signed open checkpoint (head removed)';
  switch (row.kind) {
    case 'event':
      return checkEvent(parsed);
    case 'checkpoint':
      return checkCheckpointRow(row, parsed, publicKeys);
    default:
      return 'unknown row kind';
  }
}

function parseCanonical(payload: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return 'payload is not JSON';
  }
  // Every verifier must hash the same bytes: only the canonical spelling is valid.
  return canonicalJson(parsed) === payload ? parsed : 'payload is not canonical JSON';
}

function isOpenCheckpoint(row: AuditRow, parsed: object): boolean {
  return row.kind === 'checkpoint' && (parsed as { type?: unknown }).type === 'open';
}

/** An event carries a category and never a checkpoint's type or signature. */
function checkEvent(parsed: object): string | undefined {
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.category !== 'string' || 'type' in fields || 'signature' in fields) {
    return 'event payload is not an audit event';
  }
  return undefined;
}

function checkCheckpointRow(row: AuditRow, parsed: object, publicKeys: readonly PublicKeyInfo[]): string | undefined {
  const checkpoint = parseCheckpoint(parsed);
  if (typeof checkpoint === 'string') return checkpoint;
  if (checkpoint.type === 'open' && row.seq !== 1) return 'open checkpoint after the first row';
  if (checkpoint.writerId !== row.writerId) return 'checkpoint names another writer';
  // A checkpoint covers the row right before it: its seq and hash.
  if (checkpoint.seq !== row.seq - 1 || checkpoint.hash !== row.prevHash) {
    return 'checkpoint seq/hash do not match the chain (history rewritten)';
  }
  return checkCheckpointSignature(checkpoint, publicKeys);
}

/** Whether a checkpoint row is the writer's 'close' (called only on rows that passed checkRow). */
export function isCloseCheckpoint(row: AuditRow): boolean {
  return row.kind === 'checkpoint' && (JSON.parse(row.payload) as { type?: unknown }).type === 'close';
}
