import type { Role } from '../../http/principal.js';

/**
 * The scopes `caduceus token issue` gives each role (docs/access-control.md
 * "Tokens from the CLI"): the widest SMART scopes the role's row of the
 * matrix can use, so that for CLI tokens the role matrix stays the binding
 * limit, as it was before scopes were intersected. A patient token gets
 * patient/ scopes (its own compartment), a device system/ scopes (it is a
 * client acting for itself).
 */
export function defaultScopesForRole(role: Role): readonly string[] {
  switch (role) {
    case 'patient':
      return ['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'];
    case 'device':
      return ['system/Observation.c'];
    case 'billing':
      return ['user/Patient.rs', 'user/Coverage.crus'];
    case 'auditor':
      return ['user/AuditEvent.rs', 'user/Alert.rs', 'user/Metrics.rs'];
    case 'admin':
    case 'clinician':
    case 'nurse':
      return ['openid', 'fhirUser', 'user/*.cruds'];
  }
}

/** RFC 8176 §2 method values the CLI may write into `amr` (`--amr`): the registered ones a login here could produce. */
const cliAmrValues: readonly string[] = ['pwd', 'otp', 'hwk', 'swk', 'mfa', 'sc', 'pin', 'user'];

/** Parses `--amr otp,pwd`: registered values only, each once; undefined when the list is not acceptable. */
export function parseAmrList(text: string): readonly string[] | undefined {
  const values = text.split(',');
  const ok = values.every((value) => cliAmrValues.includes(value)) && new Set(values).size === values.length;
  return ok ? Object.freeze(values) : undefined;
}
