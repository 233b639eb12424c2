import type { RuleSpec } from '../../config/monitoring-rules.js';
import { countAndRaise, formatWindow, isBearerFailure, thresholdDetails } from './signals.js';
import type { Rule, RuleContext } from './types.js';

/**
 * Credential stuffing from one address: refused bearer tokens (401 audit
 * events with a verifier reason) and failed logins (`auth.failed`) per source IP.
 */
export function failedLoginBurstIp(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'failed_login_burst_ip';
  const count = async (
    sourceIp: string,
    requestId: string | null,
    time: number,
    context: RuleContext,
  ): Promise<void> => {
    await countAndRaise(context, spec, { key: `${kind}:${sourceIp}`, amount: 1, time }, (n) => ({
      kind,
      severity: 'high',
      subject: null,
      sourceIp,
      summary: `${n} failed authentications from one address within ${formatWindow(spec.windowMs)} (threshold ${spec.threshold})`,
      details: thresholdDetails(n, spec),
      requestIds: requestId === null ? [] : [requestId],
    }));
  };
  return {
    kind,
    async onAudit(event, time, context) {
      if (!isBearerFailure(event) || event.actor.sourceIp === null) return;
      await count(event.actor.sourceIp, event.requestId, time, context);
    },
    async onSecurity(event, time, context) {
      if (event.kind !== 'auth.failed' || event.sourceIp === null) return;
      await count(event.sourceIp, event.requestId, time, context);
    },
  };
}
