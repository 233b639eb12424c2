import type { Logger } from 'pino';
import type { AuditLog } from '../audit/event.js';
import type { Config } from '../config/index.js';
import { randomHexId } from '../lib/random.js';
import type { Database } from '../storage/ports.js';
import type { KeyWrapper } from '../keys/ports.js';
import { operatingSystemUserName } from './os-user.js';
import type { JobOutcome } from './context.js';
import { RotationBusyError } from './lease.js';
import { loadRotationJob } from './job-state.js';
import { rotationGraceMs, rotationLease, runRotationJob, type RotationJobDependencies } from './run.js';

/** Records per batch of the server's own job: small, so a batch never holds the database long while requests run. */
const scheduledBatchSize = 50;

/** Options of {@link startRotationSchedule}. */
export interface RotationScheduleOptions {
  /** CADUCEUS_KEY_ROTATION_DAYS: rotate when the current data key is older than this. */
  readonly days: number;
  readonly job: Omit<RotationJobDependencies, 'onProgress' | 'signal' | 'leaseWaitMs'>;
  readonly logger: Logger;
  readonly audit: AuditLog;
  /** How often to check; default one hour. The first check runs `firstCheckMs` (default 5 s) after start. */
  readonly checkIntervalMs?: number;
  readonly firstCheckMs?: number;
}

/** A running schedule. */
export interface RotationSchedule {
  /** Stops the timer and any running job between two batches (its progress is saved for the next run). */
  close(): Promise<void>;
}

async function auditOutcome(audit: AuditLog, outcome: JobOutcome): Promise<void> {
  await audit.record({
    time: new Date().toISOString(),
    requestId: randomHexId(),
    // An operator-level action taken by the server itself on its schedule: recorded like a CLI command, with the server's OS user.
    category: 'cli',
    actor: {
      subject: null,
      client: 'caduceus-scheduler',
      role: null,
      sourceIp: null,
      osUser: operatingSystemUserName(),
    },
    action: {
      interaction: 'keys.rotate',
      resourceType: null,
      resourceId: null,
      details: {
        kind: outcome.kind,
        trigger: 'schedule',
        jobId: outcome.jobId,
        resumed: outcome.resumed,
        keyId: outcome.keyId,
        retiredKeyIds: outcome.retiredKeyIds.join(','),
        moved: outcome.moved,
        conflicts: outcome.conflicts,
        failed: outcome.failed,
        remaining: outcome.remaining,
      },
    },
    outcome: { status: 200, code: null },
  });
}

/** True when an unfinished job waits, or the current data key is older than the period. */
async function due(options: RotationScheduleOptions): Promise<'resume' | 'rotate' | undefined> {
  if ((await loadRotationJob(options.job.kv)) !== undefined) return 'resume';
  const current = await options.job.dataKeys.current();
  if (current === undefined) return undefined;
  return Date.now() - Date.parse(current.createdAt) >= options.days * 86_400_000 ? 'rotate' : undefined;
}

/**
 * The server's scheduled rotation (CADUCEUS_KEY_ROTATION_DAYS): when the
 * current data key is older than the period, one server of the deployment
 * (the one that takes the lease; the others skip) rotates the KEK, then the
 * data key, and re-encrypts old records in the background, in bounded
 * batches, never blocking requests. An unfinished job (a crash) is resumed
 * at the next check. Each finished job is audited.
 */
export function startRotationSchedule(options: RotationScheduleOptions): RotationSchedule {
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  const { logger } = options;

  async function check(): Promise<void> {
    const what = await due(options);
    if (what === undefined) return;
    const job = { ...options.job, leaseWaitMs: 0, signal: controller.signal, onProgress: () => undefined };
    logger.info({ event: 'keys.rotation_started', trigger: 'schedule', what }, 'scheduled key rotation started');
    const outcomes =
      what === 'resume'
        ? await runRotationJob(undefined, job)
        : [...(await runRotationJob('kek', job)), ...(await runRotationJob('data', job))];
    for (const outcome of outcomes) {
      await auditOutcome(options.audit, outcome);
      logger.info(
        {
          event: 'keys.rotation_finished',
          kind: outcome.kind,
          keyId: outcome.keyId,
          moved: outcome.moved,
          remaining: outcome.remaining,
        },
        'key rotation finished',
      );
    }
  }

  function tick(): void {
    running ??= check()
      .catch((error: unknown) => {
        if (error instanceof RotationBusyError || controller.signal.aborted) return;
        // The error's type only: a message could name a path.
        logger.error(
          { event: 'keys.rotation_failed', errorType: error instanceof Error ? error.name : 'Error' },
          'scheduled key rotation failed; it resumes at the next check',
        );
      })
      .finally(() => {
        running = undefined;
      });
  }

  const first = setTimeout(tick, options.firstCheckMs ?? 5000);
  const timer = setInterval(tick, options.checkIntervalMs ?? 3_600_000);
  first.unref();
  timer.unref();
  return {
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      controller.abort();
      await running;
    },
  };
}

/** What {@link scheduleConfiguredRotation} needs from the server. */
export interface ConfiguredRotationDependencies {
  readonly db: Pick<Database, 'kv' | 'dataKeys' | 'indexKeys' | 'sealedBodies'>;
  /** Null with CADUCEUS_ENCRYPTION=off: nothing to rotate. */
  readonly wrapper: KeyWrapper | null;
  readonly logger: Logger;
  readonly audit: AuditLog;
}

/** Starts the schedule CADUCEUS_KEY_ROTATION_DAYS asks for; null when it is off or encryption is. */
export function scheduleConfiguredRotation(
  config: Config,
  deps: ConfiguredRotationDependencies,
): RotationSchedule | null {
  const { days } = config.keys.rotation;
  if (days === null || deps.wrapper === null) return null;
  return startRotationSchedule({
    days,
    logger: deps.logger,
    audit: deps.audit,
    job: {
      kv: deps.db.kv,
      dataKeys: deps.db.dataKeys,
      indexKeys: deps.db.indexKeys,
      sealedBodies: deps.db.sealedBodies,
      wrapper: deps.wrapper,
      batchSize: scheduledBatchSize,
      graceMs: rotationGraceMs(config.keys.dataKeyRefreshMs),
      leaseTtlMs: rotationLease.ttlMs,
    },
  });
}
