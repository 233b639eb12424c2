import type { RuleSpec } from '../../config/monitoring-rules.js';
import { countAndRaise, formatWindow, thresholdDetails } from './signals.js';
import type { AlertDraft, Rule, RuleContext } from './types.js';

/**
 * Probing: repeated 403s, per subject and per source IP. Audited 403s count
 * both ways; edge refusals with FORBIDDEN (not audited, no subject) count per
 * IP. A burst from one subject on one address raises the subject's alert
 * only; the address alert is for 403s spread over subjects or anonymous.
 */
export function repeatedForbidden(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'repeated_forbidden' as const;
  const draft =
    (by: 'user' | 'address', subject: string | null, sourceIp: string | null, requestId: string | null) =>
    (n: number): AlertDraft => ({
      kind,
      severity: 'medium',
      subject,
      sourceIp,
      summary: `${n} forbidden requests from one ${by} within ${formatWindow(spec.windowMs)} (threshold ${spec.threshold})`,
      details: thresholdDetails(n, spec),
      requestIds: requestId === null ? [] : [requestId],
    });
  const count = async (
    subject: string | null,
    sourceIp: string | null,
    requestId: string | null,
    time: number,
    context: RuleContext,
  ): Promise<void> => {
    const bySubject =
      subject === null
        ? false
        : await countAndRaise(
            context,
            spec,
            { key: `${kind}:subject:${subject}`, amount: 1, time },
            draft('user', subject, sourceIp, requestId),
          );
    if (sourceIp === null) return;
    const ipCount = await context.state.count(`${kind}:ip:${sourceIp}`, 1, spec.windowMs, time);
    if (ipCount < spec.threshold || bySubject) return;
    await context.raiseOnce(
      `${kind}:ip:${sourceIp}`,
      spec.windowMs,
      time,
      draft('address', null, sourceIp, requestId)(ipCount),
    );
  };
  return {
    kind,
    async onAudit(event, time, context) {
      if (event.outcome.status !== 403) return;
      await count(event.actor.subject, event.actor.sourceIp, event.requestId, time, context);
    },
    async onSecurity(event, time, context) {
      if (event.kind !== 'edge.refused' || event.details.code !== 'FORBIDDEN') return;
      await count(null, event.sourceIp, event.requestId, time, context);
    },
  };
}
