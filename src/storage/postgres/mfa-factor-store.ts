import type { Pool } from 'pg';
import type { FactorKind, FactorReset, MfaFactorStore, StoredFactor } from '../mfa-ports.js';
import { toBytes } from '../rows.js';
import { guardPg, isPgUniqueViolation } from './errors.js';

interface FactorRow {
  readonly id: string;
  readonly user_id: string;
  readonly kind: FactorKind;
  readonly credential_id: string | null;
  readonly sealed: Buffer;
  readonly sign_count: string | number;
  readonly created_at: string;
  readonly last_used_at: string | null;
}

const columns = 'id, user_id, kind, credential_id, sealed, sign_count, created_at, last_used_at';

const sql = {
  listByUser: `SELECT ${columns} FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id`,
  byCredential: `SELECT ${columns} FROM mfa_factors WHERE credential_id = $1`,
  insert: `INSERT INTO mfa_factors (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  recordUse: 'UPDATE mfa_factors SET sign_count = $1, last_used_at = $2 WHERE id = $3 AND sign_count = $4',
  replaceCodes: `WITH gone AS (DELETE FROM mfa_recovery_codes WHERE user_id = $1)
    INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at) SELECT $1, hash, $3 FROM unnest($2::text[]) AS hash`,
  consumeCode: 'DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2',
  countCodes: 'SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1',
  reset: `WITH factors AS (DELETE FROM mfa_factors WHERE user_id = $1 RETURNING 1),
    codes AS (DELETE FROM mfa_recovery_codes WHERE user_id = $1 RETURNING 1)
    SELECT (SELECT count(*) FROM factors)::int AS factors, (SELECT count(*) FROM codes)::int AS codes`,
} as const;

function toFactor(row: FactorRow): StoredFactor {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    credentialId: row.credential_id,
    sealed: toBytes(row.sealed) ?? new Uint8Array(0),
    signCount: Number(row.sign_count),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The PostgreSQL store of second factors, shared by every process of a deployment. */
export class PostgresMfaFactorStore implements MfaFactorStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  listByUser(userId: string): Promise<StoredFactor[]> {
    return guardPg('mfa.listByUser', async () =>
      (await this.#pool.query<FactorRow>(sql.listByUser, [userId])).rows.map(toFactor),
    );
  }

  findByCredentialId(credentialId: string): Promise<StoredFactor | undefined> {
    return guardPg('mfa.findByCredentialId', async () => {
      const row = (await this.#pool.query<FactorRow>(sql.byCredential, [credentialId])).rows[0];
      return row === undefined ? undefined : toFactor(row);
    });
  }

  async insert(factor: StoredFactor): Promise<'created' | 'duplicate'> {
    try {
      await this.#pool.query(sql.insert, [
        factor.id,
        factor.userId,
        factor.kind,
        factor.credentialId,
        Buffer.from(factor.sealed),
        factor.signCount,
        factor.createdAt,
        factor.lastUsedAt,
      ]);
      return 'created';
    } catch (error) {
      if (isPgUniqueViolation(error)) return 'duplicate';
      return guardPg('mfa.insert', () => Promise.reject(error as Error));
    }
  }

  recordUse(id: string, expectedSignCount: number, signCount: number, usedAt: string): Promise<boolean> {
    return guardPg(
      'mfa.recordUse',
      async () => (await this.#pool.query(sql.recordUse, [signCount, usedAt, id, expectedSignCount])).rowCount === 1,
    );
  }

  async replaceRecoveryCodes(userId: string, codeHashes: readonly string[], createdAt: string): Promise<void> {
    // One statement: the old set is gone exactly when the new one is in.
    await guardPg('mfa.replaceRecoveryCodes', () =>
      this.#pool.query(sql.replaceCodes, [userId, [...new Set(codeHashes)], createdAt]),
    );
  }

  consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    return guardPg(
      'mfa.consumeRecoveryCode',
      async () => (await this.#pool.query(sql.consumeCode, [userId, codeHash])).rowCount === 1,
    );
  }

  countRecoveryCodes(userId: string): Promise<number> {
    return guardPg(
      'mfa.countRecoveryCodes',
      async () => (await this.#pool.query<{ n: number }>(sql.countCodes, [userId])).rows[0]?.n ?? 0,
    );
  }

  resetFactors(userId: string): Promise<FactorReset> {
    return guardPg('mfa.resetFactors', async () => {
      const row = (await this.#pool.query<{ factors: number; codes: number }>(sql.reset, [userId])).rows[0];
      return { factors: row?.factors ?? 0, recoveryCodes: row?.codes ?? 0 };
    });
  }
}
