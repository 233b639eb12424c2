import { randomBytes } from 'node:crypto';
import type { AuditRow, Database, IndexEntry, VersionWrite } from '../../src/storage/ports.js';

/** What every contract test needs from the adapter under test. */
export interface ContractContext {
  /** A migrated Database on the shared store; each call is a separate connection or pool ("process"). */
  open(): Promise<Database>;
  /** Runs one SQL statement over a separate raw connection (to attempt tampering behind the port). */
  rawExec(sql: string): Promise<void>;
}

/** Opens a Database, runs the body, and always closes it. */
export async function withDatabase<T>(ctx: ContractContext, body: (db: Database) => Promise<T>): Promise<T> {
  const db = await ctx.open();
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

/** A name no other test uses, so tests sharing one store never see each other's rows. */
export function unique(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/** UTF-8 bytes of a string. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A version write with sensible defaults: version = expectedVersion + 1, a body unless deleted. */
export function versionWrite(fields: {
  type: string;
  id: string;
  expectedVersion: number;
  version?: number;
  deleted?: boolean;
  body?: Uint8Array | null;
  index?: IndexEntry[];
  lastUpdated?: string;
}): VersionWrite {
  const version = fields.version ?? fields.expectedVersion + 1;
  const deleted = fields.deleted ?? false;
  return {
    type: fields.type,
    id: fields.id,
    expectedVersion: fields.expectedVersion,
    version,
    lastUpdated: fields.lastUpdated ?? new Date(Date.UTC(2025, 0, 1, 0, 0, version)).toISOString(),
    deleted,
    body: fields.body !== undefined ? fields.body : deleted ? null : bytes(`sealed ${fields.id} v${String(version)}`),
    index: fields.index ?? [],
  };
}

/** One audit row of a writer's chain (hash values are placeholders; storage does not verify them). */
export function auditRow(writerId: string, seq: number, kind: AuditRow['kind'] = 'event'): AuditRow {
  return {
    writerId,
    seq,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    kind,
    payload: JSON.stringify({ seq, writerId }),
    prevHash: seq === 1 ? '' : `hash-${String(seq - 1)}`,
    hash: `hash-${String(seq)}`,
  };
}
