import { randomResourceId } from '../../lib/random.js';
import type { ResourceStore } from '../../storage/ports.js';
import type { CareTeamAssignment, CareTeamStore } from '../../storage/care-team-ports.js';

/** The stores an assignment checks and writes. */
export interface AssignDependencies {
  readonly careTeam: CareTeamStore;
  readonly resources: ResourceStore;
}

/**
 * Assigns a subject (a clinician's, nurse's or device's `sub`) to a Patient:
 * the admin API's and the CLI's one path. Refused for a Patient that does
 * not exist or is deleted, so a typo cannot silently grant nothing.
 * Assigning twice keeps the first assignment.
 */
export async function assignPatient(
  deps: AssignDependencies,
  request: { readonly subject: string; readonly patient: string; readonly assignedBy: string },
  now: Date = new Date(),
): Promise<{ readonly assignment: CareTeamAssignment; readonly created: boolean } | 'no_such_patient'> {
  const current = await deps.resources.readCurrent('Patient', request.patient);
  if (current === undefined || current.deleted) return 'no_such_patient';
  return deps.careTeam.assign({
    id: randomResourceId(),
    subject: request.subject,
    patient: request.patient,
    assignedBy: request.assignedBy,
    assignedAt: now.toISOString(),
  });
}
