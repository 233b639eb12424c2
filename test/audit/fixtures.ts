/**
 * Shared pieces of the audit tests: real databases (test/helpers/database.ts),
 * a real local keyring in a temp dir, events, and store wrappers that count
 * or fail appends (wrapping the real adapter, never replacing it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AuditEvent } from '../../src/audit/event.js';
import { openLocalKeyManager, type LocalKeyManager } from '../../src/keys/local/index.js';
import type { AuditRow, AuditStore, Database } from '../../src/storage/ports.js';
import { openTestDatabase } from '../helpers/database.js';

/** A distinct, PHI-free event; `n` ends up in requestId and resourceId. */
export function makeEvent(n: number, time = new Date()): AuditEvent {
  return {
    time: time.toISOString(),
    requestId: `req-${n}`,
    category: 'api',
    actor: { subject: 'user-1', client: 'client-1', role: 'clinician', sourceIp: '127.0.0.1' },
    action: { interaction: 'read', resourceType: 'Patient', resourceId: `p-${n}` },
    outcome: { status: 200, code: null },
  };
}

/** A real local keyring in its own temp dir, removed after the test. */
export async function openTestKeys(t: TestContext): Promise<LocalKeyManager> {
  const dir = await mkdtemp(join(tmpdir(), 'caduceus-audit-keys-'));
  const keys = await openLocalKeyManager({ path: join(dir, 'keyring.json') });
  t.after(async () => {
    await keys.close();
    await rm(dir, { recursive: true, force: true });
  });
  return keys;
}

/** A migrated test database, closed and removed after the test. */
export async function openAuditDatabase(
  t: TestContext,
  kind: 'sqlite' | 'postgres',
): Promise<{ db: Database; url: string }> {
  const opened = await openTestDatabase(kind);
  t.after(() => opened.cleanup());
  return { db: opened.db, url: opened.url };
}

/** The real store, with every append batch recorded (and optionally intercepted). */
export interface RecordingStore extends AuditStore {
  readonly batches: AuditRow[][];
}

/**
 * Wraps a real store: `intercept` runs around each append and may throw
 * before it (nothing committed) or after it (committed, yet reported failed).
 */
export function recordingStore(
  inner: AuditStore,
  intercept?: (call: number, rows: readonly AuditRow[], append: () => Promise<void>) => Promise<void>,
): RecordingStore {
  const batches: AuditRow[][] = [];
  return {
    batches,
    async append(rows) {
      batches.push([...rows]);
      const append = () => inner.append(rows);
      await (intercept === undefined ? append() : intercept(batches.length, rows, append));
    },
    read: (options) => inner.read(options),
    writers: () => inner.writers(),
  };
}

/** Every row of one writer, in seq order. */
export async function readAll(store: AuditStore, writerId: string): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for (;;) {
    const page = await store.read({ writerId, afterSeq: rows.at(-1)?.seq ?? 0, limit: 500 });
    rows.push(...page);
    if (page.length < 500) return rows;
  }
}

/** The parsed payload of a row. */
export function payloadOf(row: AuditRow): Record<string, unknown> {
  return JSON.parse(row.payload) as Record<string, unknown>;
}
