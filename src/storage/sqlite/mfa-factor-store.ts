import type { FactorKind, FactorReset, MfaFactorStore, StoredFactor } from '../mfa-ports.js';
import { toBytes } from '../rows.js';
import type { SqliteConnection } from './connection.js';
import { isSqliteUniqueViolation, runSqlite } from './errors.js';

interface FactorRow {
  readonly id: string;
  readonly user_id: string;
  readonly kind: FactorKind;
  readonly credential_id: string | null;
  readonly sealed: Uint8Array;
  readonly sign_count: number;
  readonly created_at: string;
  readonly last_used_at: string | null;
}

const columns = 'id, user_id, kind, credential_id, sealed, sign_count, created_at, last_used_at';

function prepareStatements(db: SqliteConnection) {
  return {
    listByUser: db.prepare<[string], FactorRow>(
      `SELECT ${columns} FROM mfa_factors WHERE user_id = ? ORDER BY created_at, id`,
    ),
    byCredential: db.prepare<[string], FactorRow>(`SELECT ${columns} FROM mfa_factors WHERE credential_id = ?`),
    insert: db.prepare<[string, string, string, string | null, Buffer, number, string, string | null]>(
      `INSERT INTO mfa_factors (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    recordUse: db.prepare<[number, string, string, number]>(
      'UPDATE mfa_factors SET sign_count = ?, last_used_at = ? WHERE id = ? AND sign_count = ?',
    ),
    deleteCodes: db.prepare<[string]>('DELETE FROM mfa_recovery_codes WHERE user_id = ?'),
    insertCode: db.prepare<[string, string, string]>(
      'INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)',
    ),
    consumeCode: db.prepare<[string, string]>('DELETE FROM mfa_recovery_codes WHERE user_id = ? AND code_hash = ?'),
    countCodes: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM mfa_recovery_codes WHERE user_id = ?'),
    deleteFactors: db.prepare<[string]>('DELETE FROM mfa_factors WHERE user_id = ?'),
  };
}

function toFactor(row: FactorRow): StoredFactor {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    credentialId: row.credential_id,
    sealed: toBytes(row.sealed) ?? new Uint8Array(0),
    signCount: row.sign_count,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The SQLite store of second factors (main database file). */
export class SqliteMfaFactorStore implements MfaFactorStore {
  readonly #db: SqliteConnection;
  #statements: ReturnType<typeof prepareStatements> | undefined;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  get #stmts(): ReturnType<typeof prepareStatements> {
    this.#statements ??= prepareStatements(this.#db);
    return this.#statements;
  }

  listByUser(userId: string): Promise<StoredFactor[]> {
    return runSqlite('mfa.listByUser', () => this.#stmts.listByUser.all(userId).map(toFactor));
  }

  findByCredentialId(credentialId: string): Promise<StoredFactor | undefined> {
    return runSqlite('mfa.findByCredentialId', () => {
      const row = this.#stmts.byCredential.get(credentialId);
      return row === undefined ? undefined : toFactor(row);
    });
  }

  async insert(factor: StoredFactor): Promise<'created' | 'duplicate'> {
    try {
      await runSqlite('mfa.insert', () =>
        this.#stmts.insert.run(
          factor.id,
          factor.userId,
          factor.kind,
          factor.credentialId,
          Buffer.from(factor.sealed),
          factor.signCount,
          factor.createdAt,
          factor.lastUsedAt,
        ),
      );
      return 'created';
    } catch (error) {
      if (isSqliteUniqueViolation((error as { cause?: unknown }).cause)) return 'duplicate';
      throw error;
    }
  }

  recordUse(id: string, expectedSignCount: number, signCount: number, usedAt: string): Promise<boolean> {
    return runSqlite(
      'mfa.recordUse',
      () => this.#stmts.recordUse.run(signCount, usedAt, id, expectedSignCount).changes === 1,
    );
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], createdAt: string): Promise<void> {
    return runSqlite('mfa.replaceRecoveryCodes', () => {
      this.#db.transaction(() => {
        this.#stmts.deleteCodes.run(userId);
        for (const hash of new Set(codeHashes)) this.#stmts.insertCode.run(userId, hash, createdAt);
      })();
    });
  }

  consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    return runSqlite('mfa.consumeRecoveryCode', () => this.#stmts.consumeCode.run(userId, codeHash).changes === 1);
  }

  countRecoveryCodes(userId: string): Promise<number> {
    return runSqlite('mfa.countRecoveryCodes', () => this.#stmts.countCodes.get(userId)?.n ?? 0);
  }

  resetFactors(userId: string): Promise<FactorReset> {
    return runSqlite('mfa.resetFactors', () =>
      this.#db.transaction(() => ({
        factors: this.#stmts.deleteFactors.run(userId).changes,
        recoveryCodes: this.#stmts.deleteCodes.run(userId).changes,
      }))(),
    );
  }
}
