import { isRole, type Role } from './roles.js';
import { ConfigError, integer, text, type Env } from './readers.js';

/** Login pages and MFA (docs/login-and-mfa.md). */
export interface LoginConfig {
  /** Roles that must pass a second factor (enrolment is forced on the first login without one). */
  readonly mfaRoles: readonly Role[];
  /** A login session untouched this long ends (automatic logoff); seconds. */
  readonly sessionIdleSeconds: number;
  /** A login session ends this long after it began, however active; seconds. */
  readonly sessionAbsoluteSeconds: number;
  /** WebAuthn relying party: its id (a registrable domain) and the exact origin browsers report. */
  readonly webauthn: { readonly rpId: string; readonly origin: string; readonly rpName: string };
}

/** Default of CADUCEUS_MFA_ROLES: roles that reach PHI broadly or administer (seed: MFA for privileged access). */
export const defaultMfaRoles: readonly Role[] = ['admin', 'clinician', 'nurse', 'auditor'];

function mfaRoles(env: Env): Role[] {
  const raw = text(env, 'CADUCEUS_MFA_ROLES', defaultMfaRoles.join(','));
  if (raw.trim() === 'none') return [];
  const names = raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isRole(name));
  if (unknown.length > 0 || names.length === 0)
    throw new ConfigError('CADUCEUS_MFA_ROLES must be `none` or a comma-separated list of roles');
  return [...new Set(names.filter(isRole))];
}

/** Reads the login and MFA settings (called by loadConfig only); `issuer` gives the WebAuthn defaults. */
export function loadLoginConfig(env: Env, issuer: string): LoginConfig {
  const sessionIdleSeconds = integer(env, 'CADUCEUS_SESSION_IDLE_SECONDS', 900, 60, 86_400);
  const sessionAbsoluteSeconds = integer(env, 'CADUCEUS_SESSION_ABSOLUTE_SECONDS', 28_800, 60, 604_800);
  if (sessionIdleSeconds > sessionAbsoluteSeconds)
    throw new ConfigError('CADUCEUS_SESSION_IDLE_SECONDS must not exceed CADUCEUS_SESSION_ABSOLUTE_SECONDS');
  const origin = new URL(issuer).origin;
  const rpId = text(env, 'CADUCEUS_WEBAUTHN_RP_ID', new URL(issuer).hostname);
  // WebAuthn §5.1.4.1 (and HTML's "is a registrable domain suffix"): the RP id must be the origin's host or a suffix of it.
  const host = new URL(origin).hostname;
  if (!/^[a-z0-9.-]+$/i.test(rpId) || (host !== rpId && !host.endsWith(`.${rpId}`))) {
    throw new ConfigError("CADUCEUS_WEBAUTHN_RP_ID must be the issuer's host name or a parent domain of it");
  }
  return {
    mfaRoles: mfaRoles(env),
    sessionIdleSeconds,
    sessionAbsoluteSeconds,
    webauthn: { rpId, origin, rpName: 'Caduceus' },
  };
}
