import type { SqliteConnection } from './connection.js';
import { runSqlite } from './errors.js';
import { assertLimit } from '../validate.js';
import {
  assignmentColumns as columns,
  toAssignment,
  type AssignmentRow,
  type CareTeamAssignment,
  type CareTeamQuery,
  type CareTeamStore,
} from '../care-team-ports.js';

function prepare(db: SqliteConnection) {
  return {
    insert: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO care_team_assignments (${columns}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject, patient) DO NOTHING`,
    ),
    byPair: db.prepare<[string, string], AssignmentRow>(
      `SELECT ${columns} FROM care_team_assignments WHERE subject = ? AND patient = ?`,
    ),
    byId: db.prepare<[string], AssignmentRow>(`SELECT ${columns} FROM care_team_assignments WHERE id = ?`),
    delete: db.prepare<[string]>('DELETE FROM care_team_assignments WHERE id = ?'),
    isAssigned: db
      .prepare<[string, string], number>('SELECT 1 FROM care_team_assignments WHERE subject = ? AND patient = ?')
      .pluck(),
    patientsOf: db
      .prepare<[string], string>('SELECT patient FROM care_team_assignments WHERE subject = ? ORDER BY patient')
      .pluck(),
    // Absent filters bind NULL and match every row: one statement serves every filter combination.
    list: db.prepare<[string | null, string | null, string | null, string | null, string, number], AssignmentRow>(
      `SELECT ${columns} FROM care_team_assignments WHERE (? IS NULL OR subject = ?) AND (? IS NULL OR patient = ?) AND id > ? ORDER BY id LIMIT ?`,
    ),
  };
}

/** Care-team assignments in the main SQLite file, beside the patients they name. */
export class SqliteCareTeamStore implements CareTeamStore {
  readonly #db: SqliteConnection;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  get #stmts(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  assign(assignment: CareTeamAssignment): ReturnType<CareTeamStore['assign']> {
    return runSqlite('careTeam.assign', () => {
      const { id, subject, patient, assignedBy, assignedAt } = assignment;
      const created = this.#stmts.insert.run(id, subject, patient, assignedBy, assignedAt).changes === 1;
      const row = this.#stmts.byPair.get(subject, patient);
      if (row === undefined) throw new Error('assignment vanished');
      return { assignment: toAssignment(row), created };
    });
  }

  remove(id: string): Promise<CareTeamAssignment | undefined> {
    return runSqlite('careTeam.remove', () =>
      this.#db.transaction(() => {
        const row = this.#stmts.byId.get(id);
        if (row !== undefined) this.#stmts.delete.run(id);
        return row === undefined ? undefined : toAssignment(row);
      })(),
    );
  }

  unassign(subject: string, patient: string): Promise<CareTeamAssignment | undefined> {
    return runSqlite('careTeam.unassign', () =>
      this.#db.transaction(() => {
        const row = this.#stmts.byPair.get(subject, patient);
        if (row !== undefined) this.#stmts.delete.run(row.id);
        return row === undefined ? undefined : toAssignment(row);
      })(),
    );
  }

  isAssigned(subject: string, patient: string): Promise<boolean> {
    return runSqlite('careTeam.isAssigned', () => this.#stmts.isAssigned.get(subject, patient) !== undefined);
  }

  patientsOf(subject: string): Promise<string[]> {
    return runSqlite('careTeam.patientsOf', () => this.#stmts.patientsOf.all(subject));
  }

  list(query: CareTeamQuery): Promise<CareTeamAssignment[]> {
    return runSqlite('careTeam.list', () => {
      assertLimit('careTeam.list', query.limit);
      const subject = query.subject ?? null;
      const patient = query.patient ?? null;
      return this.#stmts.list.all(subject, subject, patient, patient, query.after ?? '', query.limit).map(toAssignment);
    });
  }
}
