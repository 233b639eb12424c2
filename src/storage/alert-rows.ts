import type { Alert } from './alerts.js';
import { StorageError } from './errors.js';

/** The columns of an `alerts` row, in both adapters. */
export interface AlertDbRow {
  readonly id: string;
  readonly time: string;
  readonly kind: string;
  readonly severity: string;
  /** The whole alert as JSON (alerts carry no PHI by design: src/storage/alerts.ts). */
  readonly body: string;
}

const alertId = /^[0-9a-f]{32}$/;

/**
 * The row for an alert, with `time` normalised to `toISOString` form so rows
 * sort by text exactly as by instant; an alert without a 32-hex id or a
 * parseable time is refused before any SQL runs.
 */
export function toAlertDbRow(operation: string, alert: Alert): AlertDbRow {
  const instant = Date.parse(alert.time);
  if (!alertId.test(alert.id) || Number.isNaN(instant)) throw new StorageError(operation, 'invalid');
  return {
    id: alert.id,
    time: new Date(instant).toISOString(),
    kind: alert.kind,
    severity: alert.severity,
    body: JSON.stringify(alert),
  };
}

/** The alert a row holds. */
export function fromAlertDbRow(row: Pick<AlertDbRow, 'body'>): Alert {
  return JSON.parse(row.body) as Alert;
}
