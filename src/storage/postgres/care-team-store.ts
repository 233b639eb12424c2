import type { Pool } from 'pg';
import { guardPg } from './errors.js';
import { assertLimit } from '../validate.js';
import {
  assignmentColumns as columns,
  toAssignment,
  type AssignmentRow,
  type CareTeamAssignment,
  type CareTeamQuery,
  type CareTeamStore,
} from '../care-team-ports.js';

const sql = {
  // ON CONFLICT on the (subject, patient) key: of two processes assigning the same pair at once, one inserts, the other reads it.
  insert: `INSERT INTO care_team_assignments (${columns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, patient) DO NOTHING RETURNING ${columns}`,
  byPair: `SELECT ${columns} FROM care_team_assignments WHERE subject = $1 AND patient = $2`,
  remove: `DELETE FROM care_team_assignments WHERE id = $1 RETURNING ${columns}`,
  unassign: `DELETE FROM care_team_assignments WHERE subject = $1 AND patient = $2 RETURNING ${columns}`,
  isAssigned: 'SELECT 1 FROM care_team_assignments WHERE subject = $1 AND patient = $2',
  patientsOf: 'SELECT patient FROM care_team_assignments WHERE subject = $1 ORDER BY patient',
  list: `SELECT ${columns} FROM care_team_assignments
    WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR patient = $2) AND id > $3 ORDER BY id LIMIT $4`,
} as const;

/** Care-team assignments in PostgreSQL, shared by every process of a deployment. */
export class PostgresCareTeamStore implements CareTeamStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  assign(assignment: CareTeamAssignment): ReturnType<CareTeamStore['assign']> {
    return guardPg('careTeam.assign', async () => {
      const { id, subject, patient, assignedBy, assignedAt } = assignment;
      const inserted = (
        await this.#pool.query<AssignmentRow>(sql.insert, [id, subject, patient, assignedBy, assignedAt])
      ).rows[0];
      if (inserted !== undefined) return { assignment: toAssignment(inserted), created: true };
      const existing = (await this.#pool.query<AssignmentRow>(sql.byPair, [subject, patient])).rows[0];
      // Removed again between the two statements: report it as not stored rather than invent a row.
      if (existing === undefined) throw new Error('assignment vanished');
      return { assignment: toAssignment(existing), created: false };
    });
  }

  remove(id: string): Promise<CareTeamAssignment | undefined> {
    return guardPg('careTeam.remove', async () => {
      const row = (await this.#pool.query<AssignmentRow>(sql.remove, [id])).rows[0];
      return row === undefined ? undefined : toAssignment(row);
    });
  }

  unassign(subject: string, patient: string): Promise<CareTeamAssignment | undefined> {
    return guardPg('careTeam.unassign', async () => {
      const row = (await this.#pool.query<AssignmentRow>(sql.unassign, [subject, patient])).rows[0];
      return row === undefined ? undefined : toAssignment(row);
    });
  }

  isAssigned(subject: string, patient: string): Promise<boolean> {
    return guardPg(
      'careTeam.isAssigned',
      async () => (await this.#pool.query(sql.isAssigned, [subject, patient])).rowCount === 1,
    );
  }

  patientsOf(subject: string): Promise<string[]> {
    return guardPg('careTeam.patientsOf', async () =>
      (await this.#pool.query<{ patient: string }>(sql.patientsOf, [subject])).rows.map((row) => row.patient),
    );
  }

  list(query: CareTeamQuery): Promise<CareTeamAssignment[]> {
    return guardPg('careTeam.list', async () => {
      assertLimit('careTeam.list', query.limit);
      const params = [query.subject ?? null, query.patient ?? null, query.after ?? '', query.limit];
      return (await this.#pool.query<AssignmentRow>(sql.list, params)).rows.map(toAssignment);
    });
  }
}
