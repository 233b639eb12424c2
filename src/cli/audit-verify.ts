import { parseArgs } from 'node:util';
import { verifyAuditLog } from '../audit/verify.js';
import type { Runtime } from '../runtime.js';
import { CliError, type CliIo } from './output.js';

/**
 * `caduceus audit verify`: checks every hash chain and signed checkpoint
 * offline; exits 1 and names the first bad row when anything was edited,
 * deleted, inserted, reordered or cut.
 */
export async function auditVerifyCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const report = await verifyAuditLog({
    store: runtime.db.audit,
    publicKeys: await runtime.keys.publicKeys('audit-signing'),
    // A writer whose last row is younger than two checkpoint intervals may still be running.
    openWriterGraceMs: 2 * runtime.config.audit.checkpointIntervalMs,
  });
  if (values.json) io.out(JSON.stringify(report));
  else
    io.out(
      report.ok
        ? `audit log ok: ${report.writers.length} writer(s) verified`
        : `audit log NOT ok: first bad row ${report.firstBad?.writerId ?? '?'} #${String(report.firstBad?.seq ?? '?')}: ${report.firstBad?.reason ?? ''}`,
    );
  if (!report.ok) throw new CliError('audit verification failed', 1);
}
