import type { RuleSpec } from '../../config/monitoring-rules.js';
import { countAndRaise, formatWindow, thresholdDetails } from './signals.js';
import type { Rule } from './types.js';

/** A rate-limit storm: many `rate_limit.exceeded` events across the deployment within a window. */
export function rateLimitStorm(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'rate_limit_storm';
  return {
    kind,
    async onSecurity(event, time, context) {
      if (event.kind !== 'rate_limit.exceeded') return;
      await countAndRaise(context, spec, { key: `${kind}:all`, amount: 1, time }, (n) => ({
        kind,
        severity: 'medium',
        subject: null,
        sourceIp: event.sourceIp,
        summary: `${n} requests refused by rate limits within ${formatWindow(spec.windowMs)} (threshold ${spec.threshold})`,
        details: thresholdDetails(n, spec),
        requestIds: event.requestId === null ? [] : [event.requestId],
      }));
    },
  };
}
