/**
 * The one line an operator sees when a command or the server's start fails.
 * Our own errors decide whether their message may be shown (operatorSafe);
 * anything else is named by its code only: the message of an unknown error
 * may quote SQL, a URL with its password or a path holding PHI.
 */
import { CaduceusError } from '../errors/index.js';
import { systemErrorCode } from '../lib/system-error.js';

/** A built-in error class name (TypeError, RangeError): safe, unlike the message. */
const builtInName = /^[A-Z][A-Za-z]{0,39}Error$/;

/** What names an error that may not speak for itself: its stable code, a system errno, or its class. */
function codeOf(error: unknown): string {
  if (error instanceof CaduceusError) return error.code;
  const code = systemErrorCode(error);
  if (code !== undefined) return code;
  return error instanceof Error && builtInName.test(error.name) ? error.name : 'unknown error';
}

/** One line: an error's own message never spans lines here, whatever it holds. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, '; ');
}

/**
 * `caduceus: <cause> (set <SETTING>)` for an operator-safe error, else
 * `caduceus: the command failed (<CODE>)`.
 */
export function failureLine(error: unknown): string {
  if (error instanceof CaduceusError && error.operatorSafe) {
    const { setting } = error;
    // Messages that already name their setting (ConfigError, most key errors) are not told twice.
    const hint = setting === undefined || error.message.includes(setting) ? '' : ` (set ${setting})`;
    return `caduceus: ${oneLine(error.message)}${hint}`;
  }
  return `caduceus: the command failed (${codeOf(error)})`;
}
