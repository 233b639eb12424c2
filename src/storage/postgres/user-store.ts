import type { Pool } from 'pg';
import { guardPg, isPgUniqueViolation } from './errors.js';
import type { User, UserCreateResult, UserStatus, UserStore } from '../user-ports.js';
import { toUser, userColumns, userValues, type UserRow } from '../user-row.js';

const sql = {
  // DO NOTHING on a taken id or username: one statement decides, so two processes creating one name cannot both succeed.
  insert: `INSERT INTO users (${userColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
  byId: `SELECT ${userColumns} FROM users WHERE id = $1`,
  byUsername: `SELECT ${userColumns} FROM users WHERE username = $1`,
  list: `SELECT ${userColumns} FROM users WHERE username > $1 ORDER BY username LIMIT $2`,
  setStatus: 'UPDATE users SET status = $1, updated_at = $2 WHERE id = $3',
  setPatient: 'UPDATE users SET patient_id = $1, updated_at = $2 WHERE id = $3',
  // Compare-and-set in one statement: the WHERE is the compare.
  replaceHash: 'UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4',
} as const;

/** The PostgreSQL user store, shared by every process of a deployment. */
export class PostgresUserStore implements UserStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async create(user: User): Promise<UserCreateResult> {
    return guardPg('users.create', async () => {
      try {
        const result = await this.#pool.query(sql.insert, userValues(user));
        return result.rowCount === 1 ? 'created' : 'duplicate';
      } catch (error) {
        if (isPgUniqueViolation(error)) return 'duplicate';
        throw error;
      }
    });
  }

  async getById(id: string): Promise<User | undefined> {
    return guardPg('users.getById', async () => {
      const row = (await this.#pool.query<UserRow>(sql.byId, [id])).rows[0];
      return row === undefined ? undefined : toUser(row, 'users.getById');
    });
  }

  async getByUsername(username: string): Promise<User | undefined> {
    return guardPg('users.getByUsername', async () => {
      const row = (await this.#pool.query<UserRow>(sql.byUsername, [username])).rows[0];
      return row === undefined ? undefined : toUser(row, 'users.getByUsername');
    });
  }

  async list(options: { readonly after?: string; readonly limit: number }): Promise<User[]> {
    return guardPg('users.list', async () =>
      (await this.#pool.query<UserRow>(sql.list, [options.after ?? '', options.limit])).rows.map((row) =>
        toUser(row, 'users.list'),
      ),
    );
  }

  async setStatus(id: string, status: UserStatus, updatedAt: string): Promise<boolean> {
    return guardPg(
      'users.setStatus',
      async () => (await this.#pool.query(sql.setStatus, [status, updatedAt, id])).rowCount === 1,
    );
  }

  async setPatient(id: string, patientId: string | null, updatedAt: string): Promise<boolean> {
    return guardPg(
      'users.setPatient',
      async () => (await this.#pool.query(sql.setPatient, [patientId, updatedAt, id])).rowCount === 1,
    );
  }

  async replacePasswordHash(id: string, expectedHash: string, newHash: string, updatedAt: string): Promise<boolean> {
    return guardPg(
      'users.replacePasswordHash',
      async () => (await this.#pool.query(sql.replaceHash, [newHash, updatedAt, id, expectedHash])).rowCount === 1,
    );
  }
}
