import type { AccountClaims, User } from '../../storage/user-ports.js';

/**
 * The claims oidc-provider's findAccount hands out for a user. `fhirUser`
 * (SMART App Launch 2 "fhirUser") names the linked Patient, absolute under
 * `fhirBaseUrl` when one is given, else relative (`Patient/<id>`);
 * `patient` is the launch context.
 */
export function accountClaims(user: User, fhirBaseUrl?: string): AccountClaims {
  const base = { sub: user.id, preferred_username: user.username, role: user.role, kind: user.kind };
  if (user.patientId === null) return base;
  const reference = `Patient/${user.patientId}`;
  return {
    ...base,
    fhirUser: fhirBaseUrl === undefined ? reference : `${fhirBaseUrl.replace(/\/+$/, '')}/${reference}`,
    patient: user.patientId,
  };
}
