import type { RuleSpec } from '../../config/monitoring-rules.js';
import { networkOf } from '../network.js';
import { formatWindow, isSuccessfulAccess } from './signals.js';
import type { Rule } from './types.js';

/**
 * A token used from a new network: the same subject and client seen from a
 * /24 (IPv4) or /48 (IPv6) it has not used within the window, after at least
 * one earlier network (the first sighting is the baseline). The AuditEvent
 * carries no grant id today, so subject + client stand for the grant.
 * Embedded IPv4 in IPv6 other than IPv4-mapped is not classified.
 */
export function newNetwork(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'new_network';
  return {
    kind,
    async onAudit(event, time, context) {
      if (!isSuccessfulAccess(event)) return;
      const network = networkOf(event.actor.sourceIp);
      if (network === null) return;
      const key = `${kind}:${event.actor.subject}|${event.actor.client ?? ''}`;
      const { before, after } = await context.state.distinct(key, [network], spec.windowMs, time);
      if (after === before || before === 0) return;
      await context.raiseOnce(`${key}|${network}`, spec.windowMs, time, {
        kind,
        severity: 'medium',
        subject: event.actor.subject,
        sourceIp: event.actor.sourceIp,
        summary: `a token was used from a network its user and client had not used within ${formatWindow(spec.windowMs)}`,
        details: {
          network,
          knownNetworks: before,
          windowSeconds: spec.windowMs / 1000,
          ...(event.actor.client !== null && { client: event.actor.client }),
        },
        requestIds: [event.requestId],
      });
    },
  };
}
