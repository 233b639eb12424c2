import type { AuditLog } from '../../audit/event.js';
import type { KeyManager, Sealer } from '../../keys/ports.js';
import type { KeyOperation, Metrics } from './metrics.js';

/** Seconds since `start` (a `process.hrtime.bigint()` reading). */
function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs the call and reports its duration and outcome; the call's result or error passes through unchanged. */
async function timed<T>(
  call: () => Promise<T>,
  report: (outcome: 'ok' | 'error', seconds: number) => void,
): Promise<T> {
  const start = process.hrtime.bigint();
  try {
    const result = await call();
    report('ok', secondsSince(start));
    return result;
  } catch (error) {
    report('error', secondsSince(start));
    throw error;
  }
}

/** The audit log with each `record` timed (time until the event is durable, group commit included). */
export function instrumentAuditLog(audit: AuditLog, metrics: Metrics): AuditLog {
  return {
    record: (event) =>
      timed(
        () => audit.record(event),
        (outcome, seconds) => {
          metrics.observeAuditWrite(outcome, seconds);
        },
      ),
    checkpoint: () => audit.checkpoint(),
    close: () => audit.close(),
  };
}

/** The sealer with `seal` and `open` timed: with envelope encryption, each is a key-manager round trip. */
export function instrumentSealer(sealer: Sealer, metrics: Metrics): Sealer {
  const report =
    (operation: KeyOperation) =>
    (outcome: 'ok' | 'error', seconds: number): void => {
      metrics.observeKeyOperation(operation, outcome, seconds);
    };
  return {
    seal: (plaintext, context) => timed(() => sealer.seal(plaintext, context), report('seal')),
    open: (sealed, context) => timed(() => sealer.open(sealed, context), report('open')),
  };
}

/** The key manager with `sign` and `publicKeys` timed (audit checkpoints, token verification). */
export function instrumentKeyManager(keys: KeyManager, metrics: Metrics): KeyManager {
  const report =
    (operation: KeyOperation) =>
    (outcome: 'ok' | 'error', seconds: number): void => {
      metrics.observeKeyOperation(operation, outcome, seconds);
    };
  return {
    currentKey: (purpose) => keys.currentKey(purpose),
    sign: (purpose, data) => timed(() => keys.sign(purpose, data), report('sign')),
    publicKeys: (purpose) => timed(() => keys.publicKeys(purpose), report('public_keys')),
    close: () => keys.close(),
  };
}
