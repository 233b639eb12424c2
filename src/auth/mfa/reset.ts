import type { FactorReset, MfaFactorStore } from '../../storage/mfa-ports.js';

/**
 * `caduceus user reset-mfa`: removes every factor and recovery code of a user,
 * so the next login of an MFA role goes to enrolment. The caller audits it.
 */
export function resetFactors(store: MfaFactorStore, userId: string): Promise<FactorReset> {
  return store.resetFactors(userId);
}
