import type { RuleSpec } from '../../config/monitoring-rules.js';
import { countAndRaise, formatWindow, isBearerFailure, thresholdDetails } from './signals.js';
import type { Rule, RuleContext } from './types.js';

/**
 * Credential stuffing against one account: failed authentications naming the
 * same account. Login failures arrive as `auth.failed` security events with
 * the account as subject; a refused bearer token is counted by the subject
 * it claimed (`details.claimedSubject` of its 401 audit event, unverified,
 * as a failed login's username is).
 */
export function failedLoginBurstAccount(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'failed_login_burst_account';
  const count = async (
    account: string,
    sourceIp: string | null,
    requestId: string | null,
    time: number,
    context: RuleContext,
  ): Promise<void> => {
    await countAndRaise(context, spec, { key: `${kind}:${account}`, amount: 1, time }, (n) => ({
      kind,
      severity: 'high',
      subject: account,
      sourceIp,
      summary: `${n} failed authentications for one account within ${formatWindow(spec.windowMs)} (threshold ${spec.threshold})`,
      details: thresholdDetails(n, spec),
      requestIds: requestId === null ? [] : [requestId],
    }));
  };
  return {
    kind,
    async onAudit(event, time, context) {
      const claimed = event.action.details?.claimedSubject;
      if (!isBearerFailure(event) || typeof claimed !== 'string') return;
      await count(claimed, event.actor.sourceIp, event.requestId, time, context);
    },
    async onSecurity(event, time, context) {
      if (event.kind !== 'auth.failed' || event.subject === null) return;
      await count(event.subject, event.sourceIp, event.requestId, time, context);
    },
  };
}
