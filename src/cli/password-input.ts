/**
 * Reads a new password for `caduceus user create`: from a terminal with a
 * prompt that does not echo (asked twice), otherwise from standard input.
 * Never from argv: arguments show in `ps` and in shell history.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { CliError } from './output.js';

/** More than any policy-compliant password (128 characters of up to 4 UTF-8 bytes each). */
const maxInputBytes = 4096;

async function readPiped(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > maxInputBytes) throw new CliError('the password on standard input is too long', 2);
    chunks.push(bytes);
  }
  // One trailing line break is the line's end, not part of the password (`echo … |`, a here-string).
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function askHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  // Keystrokes go nowhere: the terminal shows no echo of the password.
  const silent = new Writable({
    write: (_chunk, _encoding, done) => {
      done();
    },
  });
  const reader = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return await reader.question('');
  } finally {
    reader.close();
    process.stderr.write('\n');
  }
}

/** The password: prompted (twice) on a terminal, else all of standard input. */
export async function readNewPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await askHidden('New password: ');
    const second = await askHidden('Repeat it: ');
    if (first !== second) throw new CliError('the two passwords differ', 2);
    return first;
  }
  const piped = await readPiped(process.stdin);
  if (piped === '')
    throw new CliError('give the password on standard input or at the prompt (never as an argument)', 2);
  return piped;
}
