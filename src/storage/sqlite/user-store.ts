import type { Statement } from 'better-sqlite3';
import type { SqliteConnection } from './connection.js';
import { isSqliteUniqueViolation, runSqlite } from './errors.js';
import type { User, UserCreateResult, UserStatus, UserStore } from '../user-ports.js';
import { toUser, userColumns, userValues, type UserRow } from '../user-row.js';

type Values = ReturnType<typeof userValues>;

interface UserStatements {
  readonly insert: Statement<Values>;
  readonly byId: Statement<[string], UserRow>;
  readonly byUsername: Statement<[string], UserRow>;
  readonly list: Statement<[string, number], UserRow>;
  readonly setStatus: Statement<[string, string, string]>;
  readonly setPatient: Statement<[string | null, string, string]>;
  readonly replaceHash: Statement<[string, string, string, string]>;
}

function prepareStatements(db: SqliteConnection): UserStatements {
  return {
    insert: db.prepare(`INSERT INTO users (${userColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    byId: db.prepare(`SELECT ${userColumns} FROM users WHERE id = ?`),
    byUsername: db.prepare(`SELECT ${userColumns} FROM users WHERE username = ?`),
    list: db.prepare(`SELECT ${userColumns} FROM users WHERE username > ? ORDER BY username LIMIT ?`),
    setStatus: db.prepare('UPDATE users SET status = ?, updated_at = ? WHERE id = ?'),
    setPatient: db.prepare('UPDATE users SET patient_id = ?, updated_at = ? WHERE id = ?'),
    // Compare-and-set in one statement: the WHERE is the compare.
    replaceHash: db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?'),
  };
}

/** The SQLite user store, in the main database file. */
export class SqliteUserStore implements UserStore {
  readonly #db: SqliteConnection;
  #statements: UserStatements | undefined;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  /** Prepared on first use: the table exists only after migration 7. */
  get #stmts(): UserStatements {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  create(user: User): Promise<UserCreateResult> {
    return runSqlite('users.create', () => {
      try {
        this.#stmts.insert.run(...userValues(user));
        return 'created';
      } catch (error) {
        if (isSqliteUniqueViolation(error)) return 'duplicate';
        throw error;
      }
    });
  }

  getById(id: string): Promise<User | undefined> {
    return runSqlite('users.getById', () => {
      const row = this.#stmts.byId.get(id);
      return row === undefined ? undefined : toUser(row, 'users.getById');
    });
  }

  getByUsername(username: string): Promise<User | undefined> {
    return runSqlite('users.getByUsername', () => {
      const row = this.#stmts.byUsername.get(username);
      return row === undefined ? undefined : toUser(row, 'users.getByUsername');
    });
  }

  list(options: { readonly after?: string; readonly limit: number }): Promise<User[]> {
    return runSqlite('users.list', () =>
      this.#stmts.list.all(options.after ?? '', options.limit).map((row) => toUser(row, 'users.list')),
    );
  }

  setStatus(id: string, status: UserStatus, updatedAt: string): Promise<boolean> {
    return runSqlite('users.setStatus', () => this.#stmts.setStatus.run(status, updatedAt, id).changes === 1);
  }

  setPatient(id: string, patientId: string | null, updatedAt: string): Promise<boolean> {
    return runSqlite('users.setPatient', () => this.#stmts.setPatient.run(patientId, updatedAt, id).changes === 1);
  }

  replacePasswordHash(id: string, expectedHash: string, newHash: string, updatedAt: string): Promise<boolean> {
    return runSqlite(
      'users.replacePasswordHash',
      () => this.#stmts.replaceHash.run(newHash, updatedAt, id, expectedHash).changes === 1,
    );
  }
}
