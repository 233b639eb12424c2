import type { Role } from '../http/principal.js';

/** FHIR RESTful interactions the API exposes (FHIR R4 http.html). */
export const interactions = ['read', 'vread', 'search', 'create', 'update', 'delete', 'history'] as const;
export type Interaction = (typeof interactions)[number];

/**
 * How much of a resource a role may see: `full`, or `demographics`
 * (billing: identity and contact data, nothing clinical).
 */
export type View = 'full' | 'demographics';

/**
 * Which patients' compartments a role reaches on a resource type:
 * `any`; `own`, only the token's `patient`; `assigned`, only the patients
 * assigned to the caller (a clinician's or nurse's care team, a device's
 * bound patients: src/access/care-team/).
 */
export type Compartment = 'any' | 'own' | 'assigned';

/** A role's rights on one resource type. */
export interface Grant {
  readonly interactions: readonly Interaction[];
  readonly view: View;
  readonly compartment: Compartment;
}

const all = interactions;
const readOnly: readonly Interaction[] = ['read', 'vread', 'search', 'history'];
const charting: readonly Interaction[] = ['read', 'vread', 'search', 'create', 'update', 'history'];

function grant(list: readonly Interaction[], compartment: Compartment, view: View = 'full'): Grant {
  return Object.freeze({ interactions: Object.freeze([...list]), view, compartment });
}

/** Reviewers only: no PHI inside, yet it maps who did what. */
const reviewers = (list: readonly Interaction[]): Partial<Record<Role, Grant>> => ({
  admin: grant(list, 'any'),
  auditor: grant(list, 'any'),
});

/**
 * The roles-to-permissions matrix: resource type → role → grant. A role or
 * type that is not listed has no access (deny by default). Kept in step with
 * docs/access-control.md by test/auth/permissions.test.ts. Coverage,
 * Observation, Condition and MedicationRequest are listed before their
 * routes exist, so that billing's and devices' limits are fixed now.
 */
export const permissionMatrix: Readonly<Record<string, Partial<Record<Role, Grant>>>> = {
  Patient: {
    admin: grant(all, 'any'),
    clinician: grant(charting, 'assigned'),
    nurse: grant(['read', 'vread', 'search', 'update', 'history'], 'assigned'),
    billing: grant(['read', 'search'], 'any', 'demographics'),
    patient: grant(readOnly, 'own'),
  },
  // Billing reaches coverage (who pays) in full, and nothing clinical below.
  Coverage: {
    admin: grant(all, 'any'),
    billing: grant(charting, 'any'),
    clinician: grant(readOnly, 'assigned'),
    nurse: grant(readOnly, 'assigned'),
    patient: grant(readOnly, 'own'),
  },
  // A device only creates observations, for the patients it is bound to.
  Observation: {
    admin: grant(all, 'any'),
    clinician: grant(charting, 'assigned'),
    nurse: grant(charting, 'assigned'),
    patient: grant(readOnly, 'own'),
    device: grant(['create'], 'assigned'),
  },
  Condition: {
    admin: grant(all, 'any'),
    clinician: grant(charting, 'assigned'),
    nurse: grant(readOnly, 'assigned'),
    patient: grant(readOnly, 'own'),
  },
  MedicationRequest: {
    admin: grant(all, 'any'),
    clinician: grant(charting, 'assigned'),
    nurse: grant(readOnly, 'assigned'),
    patient: grant(readOnly, 'own'),
  },
  // Pseudo resource type of the care-team administration API (docs/access-control.md): admins only.
  CareTeamAssignment: {
    admin: grant(['create', 'search', 'delete'], 'any'),
  },
  // Pseudo resource types of the audit and alert APIs (docs/audit.md): no PHI inside, reviewers only.
  AuditEvent: reviewers(['search']),
  Alert: reviewers(['search']),
  // Pseudo resource type of `GET /metrics` (docs/metrics.md): operational counts, no PHI, operators only.
  Metrics: reviewers(['read']),
};

/** The grant of a role on a resource type, or undefined when it has none. */
export function grantFor(resourceType: string, role: Role): Grant | undefined {
  return permissionMatrix[resourceType]?.[role];
}
