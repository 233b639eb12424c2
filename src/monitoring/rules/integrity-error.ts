import type { RuleSpec } from '../../config/monitoring-rules.js';
import type { Rule } from './types.js';

/** Any integrity error (a record that fails its seal, a broken audit chain): critical, at once, every time. */
export function integrityError(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'integrity_error';
  return {
    kind,
    async onSecurity(event, _time, context) {
      if (event.kind !== 'integrity.error') return;
      await context.raise({
        kind,
        severity: 'critical',
        subject: event.subject,
        sourceIp: event.sourceIp,
        summary: 'an integrity check failed',
        // The producer's non-PHI details (a code, a table, a count: security-events.ts).
        details: event.details,
        requestIds: event.requestId === null ? [] : [event.requestId],
      });
    },
  };
}
