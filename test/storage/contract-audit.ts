import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../src/storage/errors.js';
import { auditRow, unique, withDatabase, type ContractContext } from './fixtures.js';

/** Registers the AuditStore tests, including tampering behind the port. */
export function registerAuditContract(ctx: ContractContext): void {
  test('audit: append and read back in (writer, seq) order with filters', () =>
    withDatabase(ctx, async (db) => {
      const [w1, w2] = [unique('w1-'), unique('w2-')];
      const chain1 = [1, 2, 3, 4].map((seq) => auditRow(w1, seq, seq === 4 ? 'checkpoint' : 'event'));
      const chain2 = [1, 2].map((seq) => auditRow(w2, seq));
      await db.audit.append([chain2[0]!, chain1[0]!, chain1[1]!]);
      await db.audit.append([chain1[2]!, chain1[3]!, chain2[1]!]);
      await db.audit.append([]);
      assert.deepEqual(await db.audit.read({ writerId: w1, limit: 10 }), chain1);
      assert.deepEqual(await db.audit.read({ writerId: w1, afterSeq: 2, limit: 10 }), chain1.slice(2));
      assert.deepEqual(await db.audit.read({ writerId: w1, afterSeq: 1, limit: 2 }), chain1.slice(1, 3));
      assert.deepEqual(await db.audit.read({ writerId: w2, limit: 10 }), chain2);
      assert.deepEqual(await db.audit.read({ writerId: unique('none'), limit: 10 }), []);
      const all = (await db.audit.read({ limit: 100_000 })).filter((r) => r.writerId === w1 || r.writerId === w2);
      const expectedOrder = w1 < w2 ? [...chain1, ...chain2] : [...chain2, ...chain1];
      assert.deepEqual(all, expectedOrder);
    }));

  test('audit: a duplicate (writer, seq) is rejected and the whole batch is dropped', () =>
    withDatabase(ctx, async (db) => {
      const w = unique('w');
      await db.audit.append([auditRow(w, 1)]);
      const duplicate = (error: unknown) => error instanceof StorageError && error.reason === 'duplicate';
      await assert.rejects(db.audit.append([auditRow(w, 1)]), duplicate);
      await assert.rejects(db.audit.append([auditRow(w, 2), auditRow(w, 1)]), duplicate);
      await assert.rejects(db.audit.append([auditRow(w, 3), auditRow(w, 3)]), duplicate);
      assert.deepEqual(await db.audit.read({ writerId: w, limit: 10 }), [auditRow(w, 1)]);
    }));

  test('audit: writers reports count and highest seq per writer', () =>
    withDatabase(ctx, async (db) => {
      const [w1, w2] = [unique('wa'), unique('wb')];
      await db.audit.append([1, 2, 3].map((seq) => auditRow(w1, seq)));
      await db.audit.append([auditRow(w2, 1)]);
      const mine = (await db.audit.writers()).filter((w) => w.writerId === w1 || w.writerId === w2);
      assert.deepEqual(
        mine.sort((x, y) => x.writerId.localeCompare(y.writerId)),
        [
          { writerId: w1, count: 3, maxSeq: 3 },
          { writerId: w2, count: 1, maxSeq: 1 },
        ].sort((x, y) => x.writerId.localeCompare(y.writerId)),
      );
    }));

  test('audit: UPDATE and DELETE behind the port are refused by the append-only trigger', () =>
    withDatabase(ctx, async (db) => {
      const w = unique('w');
      const rows = [auditRow(w, 1), auditRow(w, 2)];
      await db.audit.append(rows);
      await assert.rejects(
        ctx.rawExec(`UPDATE audit_log SET payload = 'forged' WHERE writer_id = '${w}'`),
        /append-only/,
      );
      await assert.rejects(ctx.rawExec(`DELETE FROM audit_log WHERE writer_id = '${w}' AND seq = 2`), /append-only/);
      assert.deepEqual(await db.audit.read({ writerId: w, limit: 10 }), rows);
    }));
}
