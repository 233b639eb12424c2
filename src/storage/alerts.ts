import type { AlertKind, AlertSeverity } from '../config/alert-kinds.js';

export { alertKinds, type AlertKind, type AlertSeverity } from '../config/alert-kinds.js';

/** One alert. No PHI: subjects, client ids, addresses, counts and request ids only. */
export interface Alert {
  /** Unique id (32 hex). */
  readonly id: string;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** ISO 8601 instant the alert was raised. */
  readonly time: string;
  readonly subject: string | null;
  readonly sourceIp: string | null;
  /** A fixed sentence per kind with counts and thresholds; never input values. */
  readonly summary: string;
  readonly details: Readonly<Record<string, string | number | boolean>>;
  /** Requests that contributed, for the auditor to follow into the audit log. */
  readonly requestIds: readonly string[];
}
