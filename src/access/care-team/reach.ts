import { randomResourceId } from '../../lib/random.js';
import type { CareTeamStore } from '../../storage/care-team-ports.js';

/**
 * The patient compartments a request may reach, when it is restricted at
 * all (an unrestricted request has none: `request.reach === null`).
 */
export interface PatientReach {
  /** True when the caller may reach this Patient's compartment; a resource in no compartment (null) is out of reach. */
  allows(patient: string | null): Promise<boolean>;
  /** Every Patient id reachable: searches are restricted to these compartments in the query itself. */
  patients(): Promise<readonly string[]>;
  /** True when the caller may create a Patient (a new compartment) and is then assigned to it: a care team's member. */
  readonly opensCompartments: boolean;
  /** Assigns the caller to a Patient it just created; only when `opensCompartments`. */
  admit(patient: string): Promise<void>;
}

function refuseAdmit(): Promise<void> {
  return Promise.reject(new RangeError('this reach opens no compartments'));
}

/** Exactly the given patients (the token's `patient`, or none). */
export function fixedReach(ids: readonly string[]): PatientReach {
  const set = new Set(ids);
  const list = Object.freeze([...set]);
  return {
    allows: (patient) => Promise.resolve(patient !== null && set.has(patient)),
    patients: () => Promise.resolve(list),
    opensCompartments: false,
    admit: refuseAdmit,
  };
}

/**
 * The patients assigned to `subject`, read from the store when asked (a point
 * check, or the list for a search). A Patient the subject creates is
 * assigned to it, so the creator goes on reaching what it just wrote.
 */
export function careTeamReach(store: CareTeamStore, subject: string, now: () => Date = () => new Date()): PatientReach {
  return {
    allows: (patient) => (patient === null ? Promise.resolve(false) : store.isAssigned(subject, patient)),
    patients: () => store.patientsOf(subject),
    opensCompartments: true,
    async admit(patient) {
      await store.assign({
        id: randomResourceId(),
        subject,
        patient,
        assignedBy: subject,
        assignedAt: now().toISOString(),
      });
    },
  };
}

/** Both restrictions at once. `small` is the fixed one (a single patient), listed and checked against `other`. */
export function intersectReach(other: PatientReach, small: PatientReach): PatientReach {
  return {
    allows: async (patient) => (await small.allows(patient)) && other.allows(patient),
    patients: async () => {
      const candidates = await small.patients();
      const kept = await Promise.all(candidates.map(async (id) => ((await other.allows(id)) ? id : null)));
      return kept.filter((id): id is string => id !== null);
    },
    // A patient/ scope reaches one existing patient: it never opens another.
    opensCompartments: false,
    admit: refuseAdmit,
  };
}
