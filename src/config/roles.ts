/** The roles a principal may hold (the seed's role table); configuration names them, so they live here. */
export const roles = ['admin', 'clinician', 'nurse', 'billing', 'patient', 'device', 'auditor'] as const;
export type Role = (typeof roles)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}
