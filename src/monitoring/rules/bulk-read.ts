import type { AuditEvent } from '../../audit/event.js';
import type { RuleSpec } from '../../config/monitoring-rules.js';
import { countAndRaise, formatWindow, isSuccessfulAccess, thresholdDetails } from './signals.js';
import type { Rule } from './types.js';

/** Records a successful request returned: one for a read, the ids of a search or history page. */
export function recordsReturned(event: AuditEvent): number {
  switch (event.action.interaction) {
    case 'read':
    case 'vread':
      return 1;
    default:
      return event.action.resultIds?.length ?? 0;
  }
}

/** Bulk reads: many records returned to one subject within a window, of any resource type. */
export function bulkRead(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'bulk_read';
  return {
    kind,
    async onAudit(event, time, context) {
      if (!isSuccessfulAccess(event)) return;
      const amount = recordsReturned(event);
      if (amount === 0) return;
      await countAndRaise(context, spec, { key: `${kind}:${event.actor.subject}`, amount, time }, (n) => ({
        kind,
        severity: 'medium',
        subject: event.actor.subject,
        sourceIp: event.actor.sourceIp,
        summary: `${n} records returned to one user within ${formatWindow(spec.windowMs)} (threshold ${spec.threshold})`,
        details: thresholdDetails(n, spec),
        requestIds: [event.requestId],
      }));
    },
  };
}
