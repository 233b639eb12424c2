/**
 * What the simulation does as the operator: mint tokens with the operator
 * CLI (`caduceus token issue`) and read the settings the server runs with,
 * both from the same environment as the server plus the data folder given.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import type { ServerSettings, TokenNeed } from './types.js';

/** The repository root: the CLI runs from it. */
export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** The operator's environment for `dataDir`: ours (the server's settings) with the data folder set. */
function operatorEnv(dataDir: string): NodeJS.ProcessEnv {
  return { ...process.env, CADUCEUS_DATA_DIR: dataDir };
}

/**
 * The settings the server was started with, as the CLI would load them: the
 * attacks are sized by the rules' thresholds, the off-hours scenario needs
 * the working hours, and the integrity scenario the database location.
 */
export function serverSettings(dataDir: string): ServerSettings {
  const config = loadConfig(operatorEnv(dataDir), repoRoot);
  return { databaseUrl: config.databaseUrl, rules: config.monitoring.rules, hours: config.monitoring.hours };
}

/** Runs `caduceus token issue … --json` in a child process; resolves to the token, which is never printed. */
function issueToken(dataDir: string, role: string, subject: string): Promise<string> {
  // An admin token administers care teams, which needs MFA (docs/access-control.md): the CLI claims it outside production.
  const amr = role === 'admin' ? ['--amr', 'pwd,otp'] : [];
  const args = [
    '--import',
    'tsx',
    path.join(repoRoot, 'src', 'cli', 'main.ts'),
    'token',
    'issue',
    '--role',
    role,
    '--sub',
    subject,
    '--ttl',
    '15m',
    ...amr,
    '--json',
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: operatorEnv(dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      // The CLI's stderr holds operator-safe messages only (src/cli/run.ts), never a token.
      if (code !== 0) {
        reject(
          new Error(
            `caduceus token issue --role ${role} failed (exit ${String(code)}): ${stderr.trim().split('\n')[0] ?? ''}`,
          ),
        );
        return;
      }
      try {
        const issued = JSON.parse(stdout) as { access_token?: unknown };
        if (typeof issued.access_token === 'string') {
          resolve(issued.access_token);
          return;
        }
      } catch {
        // Falls through to the refusal below, without repeating the output.
      }
      reject(new Error('caduceus token issue printed no token'));
    });
  });
}

/** The subject a TokenNeed gets in this run. */
export function subjectOf(need: TokenNeed, runId: string): string {
  return `sim-${need.name}-${runId}`;
}

/** Mints every needed token, a few CLI processes at a time (each loads the keyring and writes an audit event). */
export async function mintTokens(
  dataDir: string,
  needs: readonly TokenNeed[],
  runId: string,
): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  const queue = [...needs];
  const worker = async (): Promise<void> => {
    for (let need = queue.shift(); need !== undefined; need = queue.shift()) {
      tokens.set(need.name, await issueToken(dataDir, need.role, subjectOf(need, runId)));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return tokens;
}
