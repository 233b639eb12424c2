/**
 * What the detectors raise (docs/monitoring.md). Kinds are stable names
 * that docs/ and the attack simulation use; a new detector adds its own.
 */
export type AlertKind =
  | 'failed_login_burst_account'
  | 'failed_login_burst_ip'
  | 'patient_snooping'
  | 'bulk_read'
  | 'off_hours_access'
  | 'new_network'
  | 'repeated_forbidden'
  | 'rate_limit_storm'
  | 'integrity_error'
  | 'breaker_open';

/**
 * Every AlertKind once, at run time (the attack simulation and its test walk
 * it). `satisfies Record<AlertKind, true>` fails the build when a kind is
 * added to the union but not here, or listed here but not in the union.
 */
export const alertKinds: readonly AlertKind[] = Object.freeze(
  Object.keys({
    failed_login_burst_account: true,
    failed_login_burst_ip: true,
    patient_snooping: true,
    bulk_read: true,
    off_hours_access: true,
    new_network: true,
    repeated_forbidden: true,
    rate_limit_storm: true,
    integrity_error: true,
    breaker_open: true,
  } satisfies Record<AlertKind, true>) as AlertKind[],
);

export type AlertSeverity = 'low' | 'medium' | 'high' | 'critical';
