import { parseArgs } from 'node:util';
import type { CliIo } from './output.js';
import type { Runtime } from '../runtime.js';
import { fipsReport, signingKeysOf } from '../fips/fips-mode.js';

/** Usage line of `caduceus fips report`. */
export const fipsReportUsage =
  'caduceus fips report [--json]  list the algorithms in use and whether FIPS mode allows them';

/** `caduceus fips report [--json]`: the algorithms in use, from the configuration and the keyring (docs/fips.md). */
export async function fipsReportCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const report = fipsReport(runtime.config, await signingKeysOf(runtime.keys));
  if (values.json) {
    io.out(JSON.stringify(report));
    return;
  }
  io.out(
    `FIPS mode: ${report.fipsMode ? 'on' : 'off'}; OpenSSL ${report.openssl}, FIPS provider ${report.fipsProvider ? 'active' : 'not active'}`,
  );
  for (const use of report.algorithms)
    io.out(`  ${use.approved ? 'approved    ' : 'NOT approved'}  ${use.use}: ${use.algorithm}`);
  if (report.violations.length > 0) io.out(`${report.violations.length} use(s) FIPS mode would refuse`);
}
