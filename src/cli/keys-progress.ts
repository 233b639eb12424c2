import type { RotationProgress } from '../rotation/index.js';
import type { CliIo } from './output.js';

/** A terminal stream the bar is drawn on (process.stderr when it is a TTY). */
export interface ProgressTerminal {
  write(text: string): boolean;
  readonly columns?: number;
}

/** How progress is shown: a redrawn bar on a TTY, a plain line per step otherwise, JSON lines with --json. */
export type ProgressStyle =
  | { readonly kind: 'tty'; readonly terminal: ProgressTerminal }
  | { readonly kind: 'plain' }
  | { readonly kind: 'json' };

const barWidth = 30;

function percentOf(progress: RotationProgress): number {
  if (progress.total === 0) return 100;
  return Math.min(100, Math.floor((progress.moved / progress.total) * 100));
}

function describe(progress: RotationProgress): string {
  const what = { data: 'records re-encrypted', kek: 'data and index keys re-wrapped', index: 'resources re-indexed' }[
    progress.kind
  ];
  const waiting = progress.phase === 'waiting' ? ' (waiting for every process to use the new key)' : '';
  return `${progress.kind} pass ${progress.pass}: ${progress.moved}/${progress.total} ${what}${progress.conflicts > 0 ? `, ${progress.conflicts} changed meanwhile` : ''}${waiting}`;
}

/**
 * Shows a rotation job's progress on stderr (stdout carries only the result).
 * Plain lines are written at most once per 10 percent, so a log stays short.
 */
export function createProgressReporter(
  style: ProgressStyle,
  io: CliIo,
): { report: (progress: RotationProgress) => void; end: () => void } {
  let lastPlain = -1;
  let drawn = false;
  return {
    report(progress) {
      const percent = percentOf(progress);
      switch (style.kind) {
        case 'json':
          io.err(JSON.stringify({ event: 'keys.rotation_progress', ...progress, percent }));
          return;
        case 'plain': {
          const step = Math.floor(percent / 10);
          if (step === lastPlain && progress.phase === 'pass') return;
          lastPlain = step;
          io.err(`${percent}% ${describe(progress)}`);
          return;
        }
        case 'tty': {
          const filled = Math.round((percent / 100) * barWidth);
          const line = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${String(percent).padStart(3)}% ${describe(progress)}`;
          // \r and erase-line: the bar is redrawn in place.
          style.terminal.write(`\r\x1b[2K${line.slice(0, Math.max(20, (style.terminal.columns ?? 100) - 1))}`);
          drawn = true;
          return;
        }
      }
    },
    end() {
      if (style.kind === 'tty' && drawn) style.terminal.write('\n');
    },
  };
}
