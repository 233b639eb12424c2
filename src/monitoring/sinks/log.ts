import type { Logger } from 'pino';
import type { AlertSink } from '../alert-sink.js';

/** Alerts as log lines: `error` for high and critical, `warn` below (alerts carry no PHI by construction). */
export function createLogSink(logger: Logger): AlertSink {
  return {
    name: 'log',
    deliver(alert) {
      const line = {
        event: 'alert',
        alertId: alert.id,
        kind: alert.kind,
        severity: alert.severity,
        subject: alert.subject,
        sourceIp: alert.sourceIp,
        details: alert.details,
        requestIds: alert.requestIds,
      };
      if (alert.severity === 'high' || alert.severity === 'critical') logger.error(line, alert.summary);
      else logger.warn(line, alert.summary);
      return Promise.resolve();
    },
  };
}
