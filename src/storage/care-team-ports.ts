/**
 * The care-team assignment port: which patients a clinician, nurse or device
 * (by token `sub`) is assigned or bound to. SQLite and PostgreSQL adapters
 * beside this file; test/api/care-team-store.test.ts runs one contract
 * suite against both.
 */

/** One assignment of a subject (a user's or device's `sub`) to a Patient id. */
export interface CareTeamAssignment {
  /** Server-assigned id, for `DELETE /api/v1/care-team-assignments/{id}`. */
  readonly id: string;
  readonly subject: string;
  readonly patient: string;
  /** Who made it: a token `sub`, or `cli:<os user>` for the operator CLI. */
  readonly assignedBy: string;
  /** ISO 8601 instant. */
  readonly assignedAt: string;
}

/** Equality filters over assignments, keyset-paged by id. */
export interface CareTeamQuery {
  readonly subject?: string;
  readonly patient?: string;
  /** Ids strictly greater than this one. */
  readonly after?: string;
  readonly limit: number;
}

/** Stored care-team assignments. */
export interface CareTeamStore {
  /**
   * Stores the assignment unless the same subject and patient are already
   * assigned (atomic, even across processes); returns the stored one and
   * whether this call created it.
   */
  assign(
    assignment: CareTeamAssignment,
  ): Promise<{ readonly assignment: CareTeamAssignment; readonly created: boolean }>;
  /** Removes an assignment by id; returns it, or undefined when there was none. */
  remove(id: string): Promise<CareTeamAssignment | undefined>;
  /** Removes the assignment of a subject to a patient; returns it, or undefined when there was none. */
  unassign(subject: string, patient: string): Promise<CareTeamAssignment | undefined>;
  /** True when the subject is assigned to the patient: the request path's point check. */
  isAssigned(subject: string, patient: string): Promise<boolean>;
  /** Every patient the subject is assigned to, ascending: the compartments a search is restricted to. */
  patientsOf(subject: string): Promise<string[]>;
  /** Assignments matching every filter, ascending by id. */
  list(query: CareTeamQuery): Promise<CareTeamAssignment[]>;
}

/** A `care_team_assignments` row as both adapters read it (migration 8). */
export interface AssignmentRow {
  readonly id: string;
  readonly subject: string;
  readonly patient: string;
  readonly assigned_by: string;
  readonly assigned_at: string;
}

/** The columns of {@link AssignmentRow}, in order. */
export const assignmentColumns = 'id, subject, patient, assigned_by, assigned_at';

/** The port's view of a stored row. */
export function toAssignment(row: AssignmentRow): CareTeamAssignment {
  return {
    id: row.id,
    subject: row.subject,
    patient: row.patient,
    assignedBy: row.assigned_by,
    assignedAt: row.assigned_at,
  };
}
