/** Roles of the first role table (issue 2); the identity issue refines them. */
export const roles = ['admin', 'clinician', 'nurse', 'billing', 'patient', 'device', 'auditor'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

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
