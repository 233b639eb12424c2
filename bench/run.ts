/**
 * `npm run bench`: autocannon against a bare Fastify JSON route and against
 * Caduceus, both over TLS 1.3 on loopback, in one run. Each Caduceus
 * scenario runs on its own server process with a fresh SQLite data folder
 * and the audit log on; the comparisons are ratios within this one run on
 * this one machine, never absolute targets (bench/README.md).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const root = path.resolve(import.meta.dirname, '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);

/** A server configuration to measure, and what to send it. */
interface Scenario {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  readonly request: 'read' | 'create';
}

/**
 * Limits every benchmark request passes: the limiter still decides each
 * request (its cost is measured), it just never refuses one client's load.
 */
const generousLimits = 'ip=1000000/1s,read=1000000/1s,write=1000000/1s,default=1000000/1s';

const scenarios: readonly Scenario[] = [
  { name: 'read', env: {}, request: 'read' },
  { name: 'read, rate limiting off', env: { CADUCEUS_RATE_LIMIT: 'off' }, request: 'read' },
  { name: 'read, encryption off', env: { CADUCEUS_ENCRYPTION: 'off' }, request: 'read' },
  { name: 'create', env: {}, request: 'create' },
  { name: 'create, encryption off', env: { CADUCEUS_ENCRYPTION: 'off' }, request: 'create' },
];

const patient = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Chalmers', given: ['Peter', 'James'] }], gender: 'male', birthDate: '1974-12-25' });

interface Measured {
  readonly rps: number;
  readonly p99: number;
  readonly non2xx: number;
}

function waitForUrl(child: ChildProcess, event: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => { reject(new Error(`no ${event} within 30 s`)); }, 30_000);
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { event?: string; address?: string; url?: string };
        const url = parsed.address ?? parsed.url;
        if (parsed.event === event && url !== undefined) {
          clearTimeout(timer);
          // Stop parsing: the rest of the output is drained unread.
          lines.close();
          child.stdout!.resume();
          resolve(url);
        }
      } catch { /* not a JSON line */ }
    });
    child.once('exit', (code) => { reject(new Error(`${event}: process exited with ${String(code)}`)); });
  });
}

async function load(url: string, options: { headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: string } = {}): Promise<Measured> {
  const result = await autocannon({ url, connections, duration: seconds, headers: options.headers ?? {}, method: options.method ?? 'GET', ...(options.body !== undefined && { body: options.body }) });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Starts Caduceus with the scenario's settings, runs its load, stops it. */
async function runScenario(scenario: Scenario): Promise<Measured> {
  const dir = mkdtempSync(path.join(tmpdir(), 'caduceus-bench-'));
  const env = { ...process.env, CADUCEUS_DATA_DIR: dir, CADUCEUS_PORT: '0', CADUCEUS_LOG_LEVEL: 'info', CADUCEUS_RATE_LIMIT: generousLimits, ...scenario.env };
  const server = spawn(process.execPath, [path.join(root, 'dist/main.js')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const base = (await waitForUrl(server, 'server.listening')).replace(/\/$/, '');
    const token = execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), 'token', 'issue', '--role', 'clinician', '--ttl', '1h'], { cwd: dir, env, encoding: 'utf8' }).trim();
    const auth = { authorization: `Bearer ${token}` };
    if (scenario.request === 'create') {
      return await load(`${base}/api/v1/patients`, { method: 'POST', headers: { ...auth, 'content-type': 'application/fhir+json' }, body: patient });
    }
    const created = await fetch(`${base}/api/v1/patients`, { method: 'POST', headers: { ...auth, 'content-type': 'application/fhir+json' }, body: patient });
    const location = created.headers.get('location');
    if (created.status !== 201 || location === null) throw new Error(`setup: create answered ${created.status}`);
    return await load(`${base}${location}`, { headers: auth });
  } finally {
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  // The baseline uses a development certificate made by a throwaway Caduceus start.
  const certDir = mkdtempSync(path.join(tmpdir(), 'caduceus-bench-cert-'));
  const certServer = spawn(process.execPath, [path.join(root, 'dist/main.js')], { cwd: certDir, env: { ...process.env, CADUCEUS_DATA_DIR: certDir, CADUCEUS_PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForUrl(certServer, 'server.listening');
  await stop(certServer);
  const bare = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/bare-server.ts'), path.join(certDir, 'dev-cert.pem'), path.join(certDir, 'dev-key.pem')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let baseline: Measured;
  try {
    baseline = await load(`${await waitForUrl(bare, 'bare.listening')}/bare`);
  } finally {
    await stop(bare);
    rmSync(certDir, { recursive: true, force: true });
  }

  const results = new Map<string, Measured>();
  for (const scenario of scenarios) results.set(scenario.name, await runScenario(scenario));

  console.log(`${connections} connections, ${seconds} s each, one server at a time`);
  console.table([
    { target: 'bare fastify GET /bare', 'req/s': Math.round(baseline.rps), 'p99 ms': baseline.p99, 'vs bare': '1.00', non2xx: baseline.non2xx },
    ...[...results].map(([name, measured]) => ({
      target: `caduceus ${name}`, 'req/s': Math.round(measured.rps), 'p99 ms': measured.p99, 'vs bare': (measured.rps / baseline.rps).toFixed(2), non2xx: measured.non2xx,
    })),
  ]);
  const rps = (name: string): number => results.get(name)?.rps ?? Number.NaN;
  const cost = (on: string, off: string): string => `${(100 * (1 - rps(on) / rps(off))).toFixed(1)}%`;
  console.log(`read ratio (caduceus / bare): ${(rps('read') / baseline.rps).toFixed(2)}  (issue 2 target >= 0.5)`);
  console.log(`rate limiter cost on reads: ${cost('read', 'read, rate limiting off')}  (issue 5 target < 5%)`);
  console.log(`encryption cost on reads: ${cost('read', 'read, encryption off')}  (issue 4 target < 15%); on creates: ${cost('create', 'create, encryption off')}`);
  const failed = [...results].filter(([, measured]) => measured.non2xx > 0).map(([name]) => name);
  if (failed.length > 0) throw new Error(`non-2xx answers during: ${failed.join(', ')}`);
}

await main();
