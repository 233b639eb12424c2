import type { Role } from './principal.js';

/** FHIR RESTful interactions the API exposes (FHIR R4 http.html). */
export const interactions = ['read', 'vread', 'search', 'create', 'update', 'delete', 'history'] as const;
export type Interaction = (typeof interactions)[number];

/**
 * How much of a resource a role may see: `full`, or `demographics`
 * (billing: identity and contact data, nothing clinical).
 */
export type View = 'full' | 'demographics';

/** A role's rights on one resource type. */
export interface Grant {
  readonly interactions: readonly Interaction[];
  readonly view: View;
  /** True when the role only reaches its own patient compartment. */
  readonly ownCompartmentOnly: boolean;
}

const all = interactions;
const readOnly: readonly Interaction[] = ['read', 'vread', 'search', 'history'];

/**
 * The roles-to-permissions matrix: resource type → role → grant. A role or
 * type that is not listed has no access (deny by default). Kept in step with
 * docs/access-control.md by test/auth/permissions.test.ts.
 */
export const permissionMatrix: Readonly<Record<string, Partial<Record<Role, Grant>>>> = {
  Patient: {
    admin: { interactions: all, view: 'full', ownCompartmentOnly: false },
    clinician: { interactions: ['read', 'vread', 'search', 'create', 'update', 'history'], view: 'full', ownCompartmentOnly: false },
    nurse: { interactions: ['read', 'vread', 'search', 'update', 'history'], view: 'full', ownCompartmentOnly: false },
    billing: { interactions: ['read', 'search'], view: 'demographics', ownCompartmentOnly: false },
    patient: { interactions: readOnly, view: 'full', ownCompartmentOnly: true },
  },
  // Pseudo resource types of the audit and alert APIs (docs/audit.md): no PHI inside, reviewers only.
  AuditEvent: {
    admin: { interactions: ['search'], view: 'full', ownCompartmentOnly: false },
    auditor: { interactions: ['search'], view: 'full', ownCompartmentOnly: false },
  },
  Alert: {
    admin: { interactions: ['search'], view: 'full', ownCompartmentOnly: false },
    auditor: { interactions: ['search'], view: 'full', ownCompartmentOnly: false },
  },
  // Pseudo resource type of `GET /metrics` (docs/metrics.md): operational counts, no PHI, operators only.
  Metrics: {
    admin: { interactions: ['read'], view: 'full', ownCompartmentOnly: false },
    auditor: { interactions: ['read'], view: 'full', ownCompartmentOnly: false },
  },
};

/** The grant of a role on a resource type, or undefined when it has none. */
export function grantFor(resourceType: string, role: Role): Grant | undefined {
  return permissionMatrix[resourceType]?.[role];
}
