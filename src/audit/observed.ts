import type { AuditEvent, AuditLog } from './event.js';

/**
 * The audit log, telling a listener about each event once it is durable
 * (monitoring's detectors read this stream: DESIGN.md). The listener runs
 * after the write and its failure never fails the request.
 */
export function observeAuditLog<T extends AuditLog>(
  audit: T,
  listener: (event: AuditEvent) => void,
  onListenerError: (error: unknown) => void,
): T {
  return {
    ...audit,
    record: async (event: AuditEvent) => {
      await audit.record(event);
      try {
        listener(event);
      } catch (error) {
        onListenerError(error);
      }
    },
    checkpoint: () => audit.checkpoint(),
    close: () => audit.close(),
  };
}
