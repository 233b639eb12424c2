import { CaduceusError } from '../errors/index.js';

/** Where CLI commands write: stdout for results, stderr for diagnostics. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** The process's own streams. */
export const processIo: CliIo = {
  out: (text) => {
    process.stdout.write(`${text}\n`);
  },
  err: (text) => {
    process.stderr.write(`${text}\n`);
  },
};

/** A command failure with a message fit for an operator; exit code 1 unless told. */
export class CliError extends CaduceusError {
  override readonly name = 'CliError';
  readonly code = 'COMMAND_FAILED';
  readonly operatorSafe = true;
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parses a duration like `15m`, `1h`, `90s` or `600` (seconds) into seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})([smh]?)$/.exec(text);
  if (match?.[1] === undefined) throw new CliError('--ttl must look like 900, 90s, 15m or 1h', 2);
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}
