import type { RuleSpec } from '../../config/monitoring-rules.js';
import { formatWindow } from './signals.js';
import type { Rule } from './types.js';

/** A circuit breaker opened (a dependency failing): one alert per breaker per window across processes. */
export function breakerOpen(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'breaker_open';
  return {
    kind,
    async onSecurity(event, time, context) {
      if (event.kind !== 'breaker.state_changed' || event.details.state !== 'open') return;
      const breaker = String(event.details.breaker);
      await context.raiseOnce(`${kind}:${breaker}`, spec.windowMs, time, {
        kind,
        severity: 'high',
        subject: null,
        sourceIp: null,
        summary: `a circuit breaker opened; at most one alert per breaker per ${formatWindow(spec.windowMs)}`,
        details: { breaker },
        requestIds: [],
      });
    },
  };
}
