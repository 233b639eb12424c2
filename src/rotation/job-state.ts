import type { KeyValueStore, VersionRef } from '../storage/ports.js';

/** What a rotation job rotates. */
export type RotationKind = 'kek' | 'data' | 'index' | 'signing';

/**
 * A background rotation job's progress, persisted after every batch so a
 * crashed job resumes where it stopped (docs/key-management.md "Rotation").
 * Ids and counts only: never key material or content.
 */
export interface RotationJobState {
  readonly kind: 'kek' | 'data';
  readonly jobId: string;
  /** ISO 8601 instant the job started. */
  readonly startedAt: string;
  /** The key the job moves everything to: a data-key id, or a KEK id. */
  readonly targetKeyId: string;
  /** ISO 8601 instant the target became current; absent until it is. */
  readonly rotatedAt?: string;
  /** 1, 2, …: each pass walks every stored version (or every data key) once. */
  readonly pass: number;
  /** ISO 8601 instant the current pass started: a pass that started after the grace period is the last one. */
  readonly passStartedAt: string;
  /** Where the current pass stands; null at the start of a pass. */
  readonly cursor: VersionRef | null;
  /** What needed moving when the job started (for the progress bar). */
  readonly total: number;
  readonly processed: number;
  /** Moved to the target key. */
  readonly moved: number;
  /** Compare-and-set refusals: the row changed under the job; the next pass looks again. */
  readonly conflicts: number;
  /** Records that failed their integrity check (left as they are). */
  readonly failed: number;
  /** The keys being replaced, when the job started. */
  readonly retiredKeyIds: readonly string[];
}

/** The KeyValueStore key holding the unfinished job, if any. */
export const rotationJobKey = 'caduceus:key-rotation:job';
/** An abandoned job is forgotten after 30 days; a run in between resumes it. */
const jobTtlMs = 30 * 86_400_000;

function isJobState(value: unknown): value is RotationJobState {
  if (typeof value !== 'object' || value === null) return false;
  const job = value as Record<string, unknown>;
  return (
    (job.kind === 'kek' || job.kind === 'data') &&
    typeof job.jobId === 'string' &&
    typeof job.targetKeyId === 'string' &&
    typeof job.pass === 'number' &&
    typeof job.processed === 'number' &&
    typeof job.total === 'number'
  );
}

/** The unfinished job, or undefined; an unreadable record is treated as none (the next job re-scans everything anyway). */
export async function loadRotationJob(kv: KeyValueStore): Promise<RotationJobState | undefined> {
  const text = await kv.get(rotationJobKey);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isJobState(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Persists the job's progress. */
export function saveRotationJob(kv: KeyValueStore, job: RotationJobState): Promise<void> {
  return kv.set(rotationJobKey, JSON.stringify(job), jobTtlMs);
}

/** Forgets the job once it is complete. */
export function clearRotationJob(kv: KeyValueStore): Promise<void> {
  return kv.delete(rotationJobKey);
}
