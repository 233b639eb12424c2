import type { RuleSpecs, WorkingHours } from '../../config/monitoring-rules.js';
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
import type { Rule } from './types.js';

/** The detection rules, in one visible list (STYLE.md #3); a rule set to `off` is left out. */
export function createRules(specs: RuleSpecs, hours: WorkingHours | null): Rule[] {
  return [
    failedLoginBurstAccount(specs.failed_login_burst_account),
    failedLoginBurstIp(specs.failed_login_burst_ip),
    patientSnooping(specs.patient_snooping),
    bulkRead(specs.bulk_read),
    offHoursAccess(specs.off_hours_access, hours),
    newNetwork(specs.new_network),
    repeatedForbidden(specs.repeated_forbidden),
    rateLimitStorm(specs.rate_limit_storm),
    integrityError(specs.integrity_error),
    breakerOpen(specs.breaker_open),
  ].filter((rule): rule is Rule => rule !== null);
}

export type { AlertDraft, Rule, RuleContext } from './types.js';
