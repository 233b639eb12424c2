import { breakerOpen } from './breaker-open.js';
import { bulkRead } from './bulk-read.js';
import { failedLoginBurstAccount } from './failed-login-burst-account.js';
import { failedLoginBurstIp } from './failed-login-burst-ip.js';
import { integrityError } from './integrity-error.js';
import { newNetwork } from './new-network.js';
import { offHoursAccess } from './off-hours-access.js';
import { patientSnooping } from './patient-snooping.js';
import { rateLimitStorm } from './rate-limit-storm.js';
import { repeatedForbidden } from './repeated-forbidden.js';
import type { Scenario } from './types.js';

/**
 * One scenario per alert kind, in the order they run (STYLE.md #3: one
 * visible list). The storm runs late so that its refusals cannot slow the
 * others when every request comes from one address; the breaker scenario
 * runs last because it waits for the alert deliveries of all the others.
 */
export const scenarios: readonly Scenario[] = [
  failedLoginBurstAccount,
  failedLoginBurstIp,
  patientSnooping,
  bulkRead,
  offHoursAccess,
  newNetwork,
  repeatedForbidden,
  integrityError,
  rateLimitStorm,
  breakerOpen,
];
