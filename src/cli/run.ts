import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { auditVerifyCommand } from './audit-verify.js';
import { migrateCommand } from './migrate.js';
import { failureLine } from './failure-line.js';
import { CliError, processIo, type CliIo } from './output.js';
import { fipsReportCommand, fipsReportUsage } from './fips-report.js';
import { keysRotateCommand, keysRotateUsage, keysStatusCommand, keysStatusUsage } from './keys.js';
import { clientCreateCommand, clientDisableCommand, clientListCommand, clientUsage } from './client.js';
import { tokenIssueCommand, tokenIssueUsage } from './token-issue.js';
import { tokenRevokeCommand, tokenRevokeUsage } from './token-revoke.js';
import { userCommands, userUsage } from './user.js';

const usage = `usage:
  caduceus serve                 start the HTTPS server (same as npm start)
  caduceus migrate [--json]      apply pending database migrations
  ${tokenIssueUsage}
  ${tokenRevokeUsage}
  ${clientUsage}
  caduceus audit verify [--json] verify the audit hash chains offline
  ${fipsReportUsage}
  ${userUsage}
  ${keysRotateUsage}
  ${keysStatusUsage}`;

type RuntimeCommand = (runtime: Runtime, args: string[], io: CliIo) => Promise<void>;

const runtimeCommands: Readonly<Record<string, RuntimeCommand>> = {
  'token issue': tokenIssueCommand,
  'token revoke': tokenRevokeCommand,
  'client create': clientCreateCommand,
  'client list': clientListCommand,
  'client disable': clientDisableCommand,
  'audit verify': auditVerifyCommand,
  'fips report': fipsReportCommand,
  ...userCommands,
  'keys rotate': keysRotateCommand,
  'keys status': keysStatusCommand,
};

async function withRuntime(config: Config, command: RuntimeCommand, args: string[], io: CliIo): Promise<void> {
  // Diagnostics go to stderr so that stdout carries only the command's result.
  const runtime = await openRuntime(config, pino({ level: 'warn' }, pino.destination(2)));
  try {
    await command(runtime, args, io);
  } finally {
    await runtime.close();
  }
}

/** Runs one CLI invocation; returns the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [first = '', second = '', ...rest] = argv;
  try {
    const config = loadConfig();
    if (first === 'serve') {
      const { startServer } = await import('../server.js');
      await startServer(config);
      return 0;
    }
    if (first === 'migrate') {
      await migrateCommand(config, [second, ...rest].filter(Boolean), io);
      return 0;
    }
    const command = runtimeCommands[`${first} ${second}`];
    if (command === undefined) {
      io.err(usage);
      return first === '' || first === 'help' || first === '--help' ? 0 : 2;
    }
    await withRuntime(config, command, rest, io);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    if (
      error instanceof ConfigError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.err(error.message);
      return 2;
    }
    io.err(failureLine(error));
    return 1;
  }
}
