import type { AuditEvent } from '../../audit/event.js';
import type { RuleSpec } from '../../config/monitoring-rules.js';
import { formatWindow, isSuccessfulAccess, thresholdDetails } from './signals.js';
import type { Rule } from './types.js';

/**
 * The patients a successful request touched: the Patient read or the ids a
 * search or history returned. Other resource types will add their patient
 * compartment here once their audit events carry it (the AuditEvent has no
 * compartment field today).
 */
export function patientIdsOf(event: AuditEvent): string[] {
  if (event.action.resourceType !== 'Patient') return [];
  const ids = new Set(event.action.resultIds);
  if (event.action.resourceId !== null) ids.add(event.action.resourceId);
  return [...ids];
}

/**
 * Snooping: one user touching unusually many distinct patients within a
 * window. Only the count leaves the detector; patient ids never reach an alert.
 */
export function patientSnooping(spec: RuleSpec | null): Rule | null {
  if (spec === null) return null;
  const kind = 'patient_snooping';
  return {
    kind,
    async onAudit(event, time, context) {
      if (!isSuccessfulAccess(event)) return;
      const patients = patientIdsOf(event);
      if (patients.length === 0) return;
      const key = `${kind}:${event.actor.subject}`;
      const { after } = await context.state.distinct(key, patients, spec.windowMs, time);
      if (after < spec.threshold) return;
      await context.raiseOnce(key, spec.windowMs, time, {
        kind,
        severity: 'high',
        subject: event.actor.subject,
        sourceIp: event.actor.sourceIp,
        summary: `one user reached ${after} distinct patients within ${formatWindow(spec.windowMs)} (threshold ${spec.threshold})`,
        details: { ...thresholdDetails(after, spec), ...(event.actor.role !== null && { role: event.actor.role }) },
        requestIds: [event.requestId],
      });
    },
  };
}
