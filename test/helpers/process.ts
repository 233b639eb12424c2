/**
 * Process-level test helpers: the real server (in-process or as a child
 * process) over real TLS sockets, the CLI as a child process, and offline
 * audit verification of a data folder after everything has stopped.
 * Every server, child and temp folder is cleaned up after the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { verifyAuditLog, type VerifyReport } from '../../src/audit/verify.js';
import { issueAccessToken } from '../../src/auth/issue-token.js';
import type { Role } from '../../src/http/principal.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { pino } from 'pino';
import { openConfiguredKeys } from '../../src/keys/local/index.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { openDatabase } from '../../src/storage/open.js';
import type { AuditRow } from '../../src/storage/ports.js';

/** The repository root: children run with it as their working directory. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The six security headers every response carries (docs/security-headers.md). */
export const securityHeaderValues: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'content-security-policy': "default-src 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-xss-protection': '1; mode=block',
  'cache-control': 'no-store',
};

/** A compact JWT (header starting `{"`) anywhere in a text: a leaked token. */
export const jwtPattern = /eyJ[A-Za-z0-9_-]{10,}/;

/**
 * One test's processes and temp folder. `defer` cleanups run last-in
 * first-out after the test (node:test runs `t.after` hooks first-in
 * first-out), then the folder is removed: servers stop before their data goes.
 */
export interface ProcessScope {
  readonly dir: string;
  defer(cleanup: () => unknown): void;
}

/** A fresh temp folder and cleanup stack for one test. */
export async function processScope(t: TestContext, prefix = 'caduceus-proc-'): Promise<ProcessScope> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    try {
      for (const cleanup of cleanups.reverse()) await cleanup();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  return {
    dir,
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
  };
}

/** The environment of a test server or CLI run on `dataDir`: 127.0.0.1, a free port, no logs. */
export function caduceusEnv(dataDir: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  // A master key as production requires one (docs/key-management.md); a fixed test value, never a real secret.
  return {
    CADUCEUS_HOST: '127.0.0.1',
    CADUCEUS_PORT: '0',
    CADUCEUS_DATA_DIR: dataDir,
    CADUCEUS_LOG_LEVEL: 'silent',
    CADUCEUS_MASTER_KEY: testMasterKey,
    // Stopping test servers need no drain; the lifecycle test sets its own.
    CADUCEUS_SHUTDOWN_DRAIN_MS: '0',
    ...extra,
  };
}

/** The master key of every test process (32 bytes, hex): the keyrings of a test data folder are sealed under it. */
export const testMasterKey = 'c0ffee'.repeat(10) + 'c0de';

/** The config a process started with `env` loads. */
export function configFor(env: Readonly<Record<string, string>>): Config {
  return loadConfig(env, repoRoot);
}

/** An in-process server with its dev certificate as `ca`; stopped after the test. */
export interface InProcessServer extends RunningServer {
  readonly config: Config;
  readonly ca: Buffer;
}

/** Starts the real server in this process (startServer); `stop` is idempotent and also runs after the test. */
export async function startInProcess(
  scope: ProcessScope,
  env: Readonly<Record<string, string>>,
): Promise<InProcessServer> {
  const config = configFor(env);
  const server = await startServer(config);
  scope.defer(() => server.stop());
  return { ...server, config, ca: await readFile(config.tls.certPath) };
}

/** The child's environment: ours without any CADUCEUS_* or test-runner variables, plus `env`. */
function childEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CADUCEUS_') && name !== 'NODE_TEST_CONTEXT' && name !== 'NODE_OPTIONS',
    ),
  );
  return { ...base, ...env };
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Resolves on 'close', which comes after 'exit' once stdout and stderr are drained (no line is lost). */
function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      resolve({ code, signal });
    });
  });
}

/** Spawns `node --import tsx <args>` in the repository; SIGKILLed by its own pid after the test if still running. */
function spawnNode(
  scope: ProcessScope,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  stdin: 'ignore' | 'pipe' = 'ignore',
): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: repoRoot,
    env: childEnv(env),
    stdio: [stdin, 'pipe', 'pipe'],
  });
  const exited = exitOf(child);
  scope.defer(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
    await exited;
  });
  return { child, exited };
}

/** A server running as a child process (`src/main.ts`). */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly ca: Buffer;
  readonly config: Config;
  /** Every stdout line so far. */
  readonly stdout: string[];
  readonly stderr: () => string;
  readonly exited: Promise<Exit>;
}

/** Starts `src/main.ts` and resolves once it logs `server.listening`. */
export async function spawnServer(
  scope: ProcessScope,
  env: Readonly<Record<string, string>>,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const { child, exited } = spawnNode(scope, ['src/main.ts'], env);
  const stdout: string[] = [];
  let pending = '';
  let errText = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errText += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not start in ${timeoutMs} ms: ${errText}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        stdout.push(line);
        const parsed = parseJsonLine(line);
        const address = parsed?.address ?? parsed?.url;
        if (parsed?.event === 'server.listening' && typeof address === 'string') {
          clearTimeout(timer);
          resolve(address);
        }
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${String(exit.code)}) before listening: ${errText}`));
    });
  });
  const config = configFor(env);
  return { child, url, ca: await readFile(config.tls.certPath), config, stdout, stderr: () => errText, exited };
}

/** One stdout line as a JSON object, or undefined. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The outcome of one CLI run. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `src/cli/main.ts <args>` to completion (killed after `timeoutMs`). */
export async function runCliProcess(
  scope: ProcessScope,
  env: Readonly<Record<string, string>>,
  args: readonly string[],
  timeoutMs = 30_000,
  options: { readonly input?: string } = {},
): Promise<CliRun> {
  const { child, exited } = spawnNode(
    scope,
    ['src/cli/main.ts', ...args],
    env,
    options.input === undefined ? 'ignore' : 'pipe',
  );
  // Standard input, when given, is written whole and closed (e.g. a password for `caduceus user create`).
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, timeoutMs);
  const exit = await exited;
  clearTimeout(timer);
  return { code: exit.code, stdout, stderr };
}

/** A complete HTTPS response. */
export interface HttpsResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** One request over a fresh TLS connection to 127.0.0.1 (SNI localhost), trusting only `ca`. */
export function httpsRequest(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsResult> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: options.headers,
        ca,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A response read off a raw socket. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Parses an HTTP/1.1 response with a Content-Length body. */
export function parseRawResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: text.slice(split + 4) };
}

/**
 * Writes `payload` on a raw TLS connection (127.0.0.1, SNI localhost) and
 * collects everything until the server closes; rejects after `timeoutMs`.
 */
export function rawTlsExchange(
  url: string,
  ca: Buffer,
  payload: string,
  timeoutMs = 10_000,
): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port), ca, servername: 'localhost' }, () => {
      socket.write(payload);
    });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received ${JSON.stringify(text.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.on('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
  });
}

/** The whole audit log of a stopped data folder, verified with no grace for open writers. */
export interface AuditSnapshot {
  readonly report: VerifyReport;
  readonly rows: readonly AuditRow[];
}

/**
 * Opens the database and keyring again, as a later process would, and runs
 * the offline verifier with `openWriterGraceMs: 0`: every writer must have
 * ended with its close checkpoint.
 */
export async function auditSnapshot(config: Config): Promise<AuditSnapshot> {
  const db = await openDatabase(config.databaseUrl);
  const { keys } = await openConfiguredKeys(config, pino({ level: 'silent' }));
  try {
    const report = await verifyAuditLog({
      store: db.audit,
      publicKeys: await keys.publicKeys('audit-signing'),
      openWriterGraceMs: 0,
    });
    const rows: AuditRow[] = [];
    for (const { writerId } of await db.audit.writers())
      rows.push(...(await db.audit.read({ writerId, limit: 1_000_000 })));
    return { report, rows };
  } finally {
    await keys.close();
    await db.close();
  }
}

/** Signs a 10-minute token with the data folder's keyring, as the CLI does (for tests that need no CLI process). */
export async function signToken(config: Config, role: Role, subject = `test-${role}`): Promise<string> {
  const { keys } = await openConfiguredKeys(config, pino({ level: 'silent' }));
  try {
    const issued = await issueAccessToken(keys, {
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      subject,
      clientId: 'test-client',
      role,
      scopes: ['user/*.cruds'],
      ttlSeconds: 600,
    });
    return issued.token;
  } finally {
    await keys.close();
  }
}
