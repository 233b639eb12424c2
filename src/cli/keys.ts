import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openKeyWrapper } from '../keys/envelope/index.js';
import type { KeyWrapper } from '../keys/ports.js';
import {
  keyStatus,
  RotationBusyError,
  RotationInterruptedError,
  rotateSigningKeys,
  rotationGraceMs,
  rotationLease,
  runIndexRotation,
  runRotationJob,
  type IndexOutcome,
  type JobOutcome,
  type KeyStatus,
  type SigningOutcome,
} from '../rotation/index.js';
import type { Runtime } from '../runtime.js';
import { createProgressReporter, type ProgressStyle } from './keys-progress.js';
import { auditOperatorAction } from './operator.js';
import { CliError, type CliIo } from './output.js';

export const keysRotateUsage = 'caduceus keys rotate --kek | --data | --index | --signing [--batch N] [--json]';
export const keysStatusUsage = 'caduceus keys status [--json]';

type Kind = 'kek' | 'data' | 'index' | 'signing';

interface RotateRequest {
  readonly kind: Kind;
  readonly batchSize: number;
  readonly json: boolean;
}

/** Parses `keys rotate`; exactly one kind. Every refusal is a usage error (exit 2). */
function parseRotate(args: string[]): RotateRequest {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        kek: { type: 'boolean', default: false },
        data: { type: 'boolean', default: false },
        index: { type: 'boolean', default: false },
        signing: { type: 'boolean', default: false },
        batch: { type: 'string', default: '100' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${keysRotateUsage}`, 2);
  }
  const kinds = (['kek', 'data', 'index', 'signing'] as const).filter((kind) => values[kind]);
  const [kind] = kinds;
  if (kind === undefined || kinds.length > 1)
    throw new CliError(`name exactly one key to rotate\nusage: ${keysRotateUsage}`, 2);
  if (!/^\d{1,4}$/.test(values.batch) || Number(values.batch) < 1 || Number(values.batch) > 1000)
    throw new CliError('--batch must be between 1 and 1000', 2);
  return { kind, batchSize: Number(values.batch), json: values.json };
}

/** The progress style: JSON lines with --json, a bar when stderr is a terminal, plain lines otherwise. */
function progressStyle(json: boolean): ProgressStyle {
  if (json) return { kind: 'json' };
  return process.stderr.isTTY ? { kind: 'tty', terminal: process.stderr } : { kind: 'plain' };
}

async function withWrapper<T>(runtime: Runtime, use: (wrapper: KeyWrapper) => Promise<T>): Promise<T> {
  if (runtime.config.keys.encryption === 'off')
    throw new CliError('CADUCEUS_ENCRYPTION=off: there are no key-encryption or data keys to rotate');
  const wrapper = await openKeyWrapper(runtime.config, runtime.masterKey, pino({ level: 'warn' }, pino.destination(2)));
  try {
    return await use(wrapper);
  } finally {
    await wrapper.close();
  }
}

/** Runs a KEK, data-key or index-key job; SIGINT/SIGTERM stop it between batches with its progress saved. */
async function runJob(
  runtime: Runtime,
  request: RotateRequest & { kind: 'kek' | 'data' | 'index' },
  io: CliIo,
): Promise<(JobOutcome | IndexOutcome)[]> {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
  const progress = createProgressReporter(progressStyle(request.json), io);
  const { kind } = request;
  try {
    return await withWrapper(runtime, async (wrapper) =>
      kind === 'index'
        ? [
            await runIndexRotation({
              db: runtime.db,
              wrapper,
              leaseTtlMs: rotationLease.ttlMs,
              leaseWaitMs: rotationLease.waitMs,
              graceMs: rotationGraceMs(runtime.config.keys.dataKeyRefreshMs),
              onProgress: progress.report,
              signal: controller.signal,
            }),
          ]
        : runRotationJob(kind, {
            kv: runtime.db.kv,
            dataKeys: runtime.db.dataKeys,
            indexKeys: runtime.db.indexKeys,
            sealedBodies: runtime.db.sealedBodies,
            wrapper,
            batchSize: request.batchSize,
            graceMs: rotationGraceMs(runtime.config.keys.dataKeyRefreshMs),
            leaseTtlMs: rotationLease.ttlMs,
            leaseWaitMs: rotationLease.waitMs,
            onProgress: progress.report,
            signal: controller.signal,
          }),
    );
  } finally {
    progress.end();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeListener(signal, stop);
  }
}

type Outcome = JobOutcome | SigningOutcome | IndexOutcome;

function auditDetails(outcome: Outcome): Record<string, string | number | boolean> {
  if (outcome.kind === 'signing')
    return { kind: 'signing', tokenSigningKid: outcome.tokenSigning.kid, auditSigningKid: outcome.auditSigning.kid };
  if (outcome.kind === 'index')
    return {
      kind: 'index',
      keyId: outcome.keyId,
      retiredKeyId: outcome.retiredKeyId ?? '',
      reindexed: outcome.reindexed,
      resumed: outcome.resumed,
    };
  const { kind, jobId, resumed, keyId, passes, moved, conflicts, failed, remaining } = outcome;
  return {
    kind,
    jobId,
    resumed,
    keyId,
    retiredKeyIds: outcome.retiredKeyIds.join(','),
    passes,
    moved,
    conflicts,
    failed,
    remaining,
  };
}

function describeOutcome(outcome: Outcome): string {
  if (outcome.kind === 'signing') {
    return `signing keys rotated: token-signing ${outcome.tokenSigning.kid}, audit-signing ${outcome.auditSigning.kid}; ${outcome.tokenSigning.previous.length} earlier token key(s) stay published`;
  }
  if (outcome.kind === 'index') {
    return `${outcome.resumed ? 'resumed and finished' : 'rotated'} index key ${outcome.keyId}: ${outcome.reindexed} resource(s) re-indexed${outcome.retiredKeyId === null ? '' : `, ${outcome.retiredKeyId} retired`}`;
  }
  const what =
    outcome.kind === 'data'
      ? `data key ${outcome.keyId}: ${outcome.moved} record version(s) re-encrypted`
      : `key-encryption key ${outcome.keyId}: ${outcome.moved} data and index key(s) re-wrapped`;
  return `${outcome.resumed ? 'resumed and finished' : 'rotated'} ${what}, ${outcome.remaining} still under an older key${outcome.failed > 0 ? `, ${outcome.failed} failed their integrity check` : ''}`;
}

async function rotate(runtime: Runtime, request: RotateRequest, io: CliIo): Promise<Outcome[]> {
  switch (request.kind) {
    case 'signing':
      return [await rotateSigningKeys(runtime.keys)];
    case 'index':
    case 'kek':
    case 'data':
      return runJob(runtime, { ...request, kind: request.kind }, io);
  }
}

/**
 * `caduceus keys rotate`: a new key-encryption, data or signing key, and the
 * background job that moves everything onto it (docs/key-management.md
 * "Rotation"). Every run is audited with the operating-system user,
 * refusals and failures included.
 */
export async function keysRotateCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  let request: RotateRequest;
  try {
    request = parseRotate(args);
  } catch (error) {
    await auditOperatorAction(runtime, {
      interaction: 'keys.rotate',
      details: { refused: 'usage' },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw error;
  }
  let outcomes: Outcome[];
  try {
    outcomes = await rotate(runtime, request, io);
  } catch (error) {
    const interrupted = error instanceof RotationInterruptedError;
    const busy = error instanceof RotationBusyError;
    await auditOperatorAction(runtime, {
      interaction: 'keys.rotate',
      details: { kind: request.kind, failed: interrupted ? 'interrupted' : busy ? 'busy' : 'error' },
      status: busy ? 409 : 500,
      code: busy ? 'CONFLICT' : 'INTERNAL_ERROR',
    });
    if (interrupted || busy) throw new CliError(error.message, interrupted ? 130 : 1);
    throw error;
  }
  for (const outcome of outcomes)
    await auditOperatorAction(runtime, { interaction: 'keys.rotate', details: auditDetails(outcome), status: 200 });
  if (request.json) io.out(JSON.stringify({ rotated: outcomes }));
  else for (const outcome of outcomes) io.out(describeOutcome(outcome));
}

function statusLines(status: KeyStatus): string[] {
  return [
    'key-encryption keys:',
    ...status.keks.map(
      (kek) =>
        `  ${kek.id}  ${kek.state.padEnd(7)}  ${kek.dataKeys} data key(s), ${kek.indexKeys} index key(s), ${kek.records} record(s)`,
    ),
    'data keys:',
    ...status.dataKeys.map(
      (key) => `  ${key.id}  ${key.state.padEnd(7)}  under ${key.kekId}  ${key.records} record(s)`,
    ),
    ...(status.indexKeys.length === 0
      ? []
      : ['index keys:', ...status.indexKeys.map((key) => `  ${key.id}  ${key.state}  under ${key.kekId}`)]),
    `records: ${status.records.total} (${status.records.unsealed} unsealed)`,
    ...(status.job === null
      ? []
      : [
          `unfinished ${status.job.kind} rotation ${status.job.jobId} (pass ${status.job.pass}, ${status.job.moved}/${status.job.total}): run keys rotate --${status.job.kind} to resume`,
        ]),
  ];
}

/** `caduceus keys status`: every key with its state and how many stored versions it still protects. Read-only, audited. */
export async function keysStatusCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  let json: boolean;
  try {
    json = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true }).values.json;
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${keysStatusUsage}`, 2);
  }
  const sources = {
    kv: runtime.db.kv,
    dataKeys: runtime.db.dataKeys,
    sealedBodies: runtime.db.sealedBodies,
    indexKeys: runtime.db.indexKeys,
    signing: runtime.keys,
  };
  const status =
    runtime.config.keys.encryption === 'off'
      ? await keyStatus({ ...sources, wrapper: null })
      : await withWrapper(runtime, (wrapper) => keyStatus({ ...sources, wrapper }));
  await auditOperatorAction(runtime, {
    interaction: 'keys.status',
    details: { keks: status.keks.length, dataKeys: status.dataKeys.length },
    status: 200,
  });
  if (json) io.out(JSON.stringify(status));
  else io.out(statusLines(status).join('\n'));
}
