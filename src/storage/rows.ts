import type { AuditRow, StoredVersion } from './ports.js';

/** A plain Uint8Array view over a driver Buffer (no copy), so both adapters return the same type. */
export function toBytes(value: Uint8Array | null): Uint8Array | null {
  return value === null ? null : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** A driver-ready Buffer view over a Uint8Array (no copy). */
export function toBuffer(value: Uint8Array | null): Buffer | null {
  return value === null ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The column values every adapter reads for a version row. */
export interface VersionRow {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly last_updated: string;
  readonly deleted: number | boolean;
  readonly body: Uint8Array | null;
}

/** Maps a version row of either adapter to the port's shape. */
export function toStoredVersion(row: VersionRow): StoredVersion {
  return {
    type: row.type,
    id: row.id,
    version: row.version,
    lastUpdated: row.last_updated,
    deleted: row.deleted === true || row.deleted === 1,
    body: toBytes(row.body),
  };
}

/** The column values every adapter reads for an audit row. */
export interface AuditDbRow {
  writer_id: string;
  seq: number | string;
  time: string;
  kind: 'event' | 'checkpoint';
  payload: string;
  prev_hash: string;
  hash: string;
}

/** Maps a stored row of either adapter to the port's shape. */
export function toAuditRow(row: AuditDbRow): AuditRow {
  return {
    writerId: row.writer_id,
    seq: Number(row.seq),
    time: row.time,
    kind: row.kind,
    payload: row.payload,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
