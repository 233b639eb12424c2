import type { Role } from '../config/roles.js';

export { isRole, roles, type Role } from '../config/roles.js';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  readonly subject: string;
  readonly clientId: string;
  readonly role: Role;
  readonly scopes: readonly string[];
  /** The Patient id a patient-context token is bound to. */
  readonly patient: string | null;
  readonly grantId: string | null;
  readonly amr: readonly string[];
  readonly acr: string | null;
  /** RFC 8705 `cnf.x5t#S256`, when the token is certificate-bound. */
  readonly certificateThumbprint: string | null;
  readonly tokenId: string;
  readonly issuer: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * RFC 8176 `amr` values that show a second factor (or say so outright with
 * `mfa`): one-time password, hardware- or software-secured key (a passkey),
 * smart card. A password alone (`pwd`) or a knowledge factor is not enough.
 */
export const multiFactorMethods: readonly string[] = ['mfa', 'otp', 'hwk', 'swk', 'sc'];

/** True when the token's `amr` shows multi-factor authentication of a user (RFC 8176 §2, RFC 9470). */
export function hasMultiFactor(principal: Principal): boolean {
  return !isClientToken(principal) && principal.amr.some((method) => multiFactorMethods.includes(method));
}

/**
 * True for a token a client obtained for itself (client_credentials): RFC
 * 9068 §2.2 has its `sub` be the client's own identifier. Only such tokens
 * may use `system/` scopes; they authenticate no user, so never MFA.
 */
export function isClientToken(principal: Principal): boolean {
  return principal.subject === principal.clientId;
}
