/**
 * `npm run bench`: autocannon against a bare Fastify JSON route and against
 * Caduceus, both over TLS 1.3 on loopback, in one run. Each Caduceus
 * scenario runs on its own server process with a fresh SQLite data folder
 * and the audit log on; the comparisons are ratios within this one run on
 * this one machine, never absolute targets (bench/README.md).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { runSearchBench, searchBenchSizes } from './search.js';
import {
  combineBursts,
  loginBurstAuthLimit,
  loginBurstConnections,
  loginBurstEnv,
  loginBurstRate,
  loginReadConnections,
  printLoginBurst,
  setupLoginUsers,
  startLoginBurst,
  type LoginBurstResult,
} from './login-burst.js';

const root = path.resolve(import.meta.dirname, '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** A server configuration to measure, and what to send it. */
interface Scenario {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  readonly request: 'read' | 'create';
  /** The login-burst pair (bench/login-burst.ts): users and a client are made; `burst` posts logins during the load. */
  readonly login?: 'idle' | 'burst';
}

/**
 * Limits every benchmark request passes: the limiter still decides each
 * request (its cost is measured), it just never refuses one client's load.
 */
const generousLimits = 'ip=1000000/1s,read=1000000/1s,write=1000000/1s,default=1000000/1s';

const allScenarios: readonly Scenario[] = [
  { name: 'read', env: {}, request: 'read' },
  { name: 'read, rate limiting off', env: { CADUCEUS_RATE_LIMIT: 'off' }, request: 'read' },
  { name: 'read, encryption off', env: { CADUCEUS_ENCRYPTION: 'off' }, request: 'read' },
  { name: 'create', env: {}, request: 'create' },
  { name: 'create, encryption off', env: { CADUCEUS_ENCRYPTION: 'off' }, request: 'create' },
  {
    name: 'read, login pair idle',
    env: { ...loginBurstEnv, CADUCEUS_RATE_LIMIT: `${generousLimits},${loginBurstAuthLimit}` },
    request: 'read',
    login: 'idle',
  },
  {
    name: 'read during a login burst',
    env: { ...loginBurstEnv, CADUCEUS_RATE_LIMIT: `${generousLimits},${loginBurstAuthLimit}` },
    request: 'read',
    login: 'burst',
  },
];
/**
 * BENCH_ONLY picks scenarios: names separated by `|` run exactly those
 * (`read|read, encryption off`); otherwise every scenario whose name
 * contains the text runs (`login`).
 */
const wanted = (process.env.BENCH_ONLY ?? '').split('|').filter(Boolean);
const exact = allScenarios.filter((scenario) => wanted.includes(scenario.name));
const scenarios =
  wanted.length === 0
    ? allScenarios
    : exact.length > 0
      ? exact
      : allScenarios.filter((scenario) => wanted.some((text) => scenario.name.includes(text)));

const patient = JSON.stringify({
  resourceType: 'Patient',
  name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
  gender: 'male',
  birthDate: '1974-12-25',
});

interface Measured {
  readonly rps: number;
  readonly p99: number;
  readonly non2xx: number;
  /** CPU of the server's main thread (the event loop) per request, µs; NaN where /proc is unavailable. */
  readonly cpuUs: number;
  /** The login burst that ran during the load, if any. */
  readonly burst?: LoginBurstResult;
}

/**
 * CPU time the process's main thread has used so far, µs (Linux /proc;
 * utime + stime at 100 ticks a second). The event loop is what saturates
 * first; the audit worker and GC threads are left out of this figure.
 */
function cpuTimeUs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of each figure over the rounds (req/s and CPU each on its own). */
function medianOf(runs: readonly Measured[]): Measured {
  return {
    rps: median(runs.map((run) => run.rps)),
    p99: median(runs.map((run) => run.p99)),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    cpuUs: median(runs.map((run) => run.cpuUs)),
    ...(runs[0]?.burst !== undefined && {
      burst: combineBursts(
        runs.flatMap((run) => run.burst ?? []),
        median,
      ),
    }),
  };
}

function waitForUrl(child: ChildProcess, event: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      reject(new Error(`no ${event} within 30 s`));
    }, 30_000);
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
      } catch {
        /* not a JSON line */
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`${event}: process exited with ${String(code)}`));
    });
  });
}

/** `connections`: autocannon's connections, each sending its next request when the last is answered (default BENCH_CONNECTIONS). */
async function load(
  pid: number | undefined,
  url: string,
  options: { headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: string; connections?: number } = {},
): Promise<Measured> {
  const before = cpuTimeUs(pid);
  const result = await autocannon({
    url,
    connections: options.connections ?? connections,
    duration: seconds,
    headers: options.headers ?? {},
    method: options.method ?? 'GET',
    ...(options.body !== undefined && { body: options.body }),
  });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    cpuUs: (cpuTimeUs(pid) - before) / Math.max(1, result.requests.total),
  };
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
  const env = {
    ...process.env,
    CADUCEUS_DATA_DIR: dir,
    CADUCEUS_PORT: '0',
    CADUCEUS_LOG_LEVEL: 'info',
    CADUCEUS_RATE_LIMIT: generousLimits,
    ...scenario.env,
  };
  const server = spawn(process.execPath, [path.join(root, 'dist/main.js')], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const base = (await waitForUrl(server, 'server.listening')).replace(/\/$/, '');
    const token = execFileSync(
      process.execPath,
      [path.join(root, 'dist/cli/main.js'), 'token', 'issue', '--role', 'clinician', '--ttl', '1h'],
      { cwd: dir, env, encoding: 'utf8' },
    ).trim();
    const auth = { authorization: `Bearer ${token}` };
    const login = scenario.login === undefined ? undefined : setupLoginUsers(root, dir, env);
    if (scenario.request === 'create') {
      return await load(server.pid, `${base}/api/v1/patients`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/fhir+json' },
        body: patient,
      });
    }
    const created = await fetch(`${base}/api/v1/patients`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/fhir+json' },
      body: patient,
    });
    const location = created.headers.get('location');
    if (created.status !== 201 || location === null) throw new Error(`setup: create answered ${created.status}`);
    if (login === undefined) return await load(server.pid, `${base}${location}`, { headers: auth });
    // The pair reads on a few connections, with CPU to spare: p99 then shows what the logins take from the reads (login-burst.ts).
    const reads = { headers: auth, connections: loginReadConnections };
    if (scenario.login !== 'burst') return await load(server.pid, `${base}${location}`, reads);
    const burst = await startLoginBurst({ base, ...login, connections: loginBurstConnections, rate: loginBurstRate });
    try {
      const measured = await load(server.pid, `${base}${location}`, reads);
      return { ...measured, burst: await burst.stop() };
    } finally {
      burst.end();
    }
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
  const certServer = spawn(process.execPath, [path.join(root, 'dist/main.js')], {
    cwd: certDir,
    env: { ...process.env, CADUCEUS_DATA_DIR: certDir, CADUCEUS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForUrl(certServer, 'server.listening');
  await stop(certServer);
  // The bare route, and the floor: the least an authenticated, encrypted, audited read does (floor-server.ts).
  const reference = async (
    script: string,
    urlPath: string,
    headers: Record<string, string> = {},
    variant: string[] = [],
  ): Promise<Measured> => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'bench', script),
        path.join(certDir, 'dev-cert.pem'),
        path.join(certDir, 'dev-key.pem'),
        ...variant,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const url = `${await waitForUrl(child, 'bare.listening')}${urlPath}`;
      return await load(child.pid, url, { headers });
    } finally {
      await stop(child);
    }
  };
  const bareRuns: Measured[] = [];
  const floorRuns: Measured[] = [];
  const leanFloorRuns: Measured[] = [];
  // A bearer token as long as the CLI's (about 520 characters), so the floor's requests are the size of Caduceus's.
  const floorHeaders = { authorization: `Bearer ${'x'.repeat(520)}` };
  try {
    for (let round = 0; round < rounds; round += 1) {
      bareRuns.push(await reference('bare-server.ts', '/bare'));
      floorRuns.push(await reference('floor-server.ts', '/api/v1/patients/bench', floorHeaders));
      leanFloorRuns.push(await reference('floor-server.ts', '/api/v1/patients/bench', floorHeaders, ['unindexed']));
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
  const baseline = medianOf(bareRuns);
  const floors = [
    ['floor: least secure read', medianOf(floorRuns)],
    ['floor, audit search indexes off', medianOf(leanFloorRuns)],
  ] as const;

  // Rounds interleave the scenarios, so that a slow minute on a shared machine hits all of them alike.
  const runs = new Map<string, Measured[]>(scenarios.map((scenario) => [scenario.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    // Each round starts one scenario later, so no scenario always follows the creates' disk writes.
    for (const scenario of [
      ...scenarios.slice(round % scenarios.length),
      ...scenarios.slice(0, round % scenarios.length),
    ]) {
      runs.get(scenario.name)!.push(await runScenario(scenario));
      // Written pages go to disk now, not during the next measurement.
      execFileSync('sync');
    }
  }
  const results = new Map([...runs].map(([name, measured]) => [name, medianOf(measured)]));

  console.log(
    `${connections} connections, ${seconds} s a measurement, medians of ${rounds} interleaved rounds, one server at a time`,
  );
  console.table([
    {
      target: 'bare fastify GET /bare',
      'req/s': Math.round(baseline.rps),
      'p99 ms': baseline.p99,
      'vs bare': '1.00',
      'main thread CPU µs/req': Math.round(baseline.cpuUs),
      non2xx: baseline.non2xx,
    },
    ...floors.map(([target, floor]) => ({
      target,
      'req/s': Math.round(floor.rps),
      'p99 ms': floor.p99,
      'vs bare': (floor.rps / baseline.rps).toFixed(2),
      'main thread CPU µs/req': Math.round(floor.cpuUs),
      non2xx: floor.non2xx,
    })),
    ...[...results].map(([name, measured]) => ({
      // The login pair reads on a few connections: its req/s is not a capacity to compare with the bare route.
      target: `caduceus ${name}`,
      'req/s': Math.round(measured.rps),
      'p99 ms': measured.p99,
      'vs bare': name.includes('login')
        ? `(${String(loginReadConnections)} conn.)`
        : (measured.rps / baseline.rps).toFixed(2),
      'main thread CPU µs/req': Math.round(measured.cpuUs),
      non2xx: measured.non2xx,
    })),
  ]);
  const figure = (name: string, field: 'rps' | 'cpuUs'): number => results.get(name)?.[field] ?? Number.NaN;
  // Cost as lost throughput, and as added CPU per request (steadier on a shared machine).
  const cost = (on: string, off: string): string =>
    `${(100 * (1 - figure(on, 'rps') / figure(off, 'rps'))).toFixed(1)}% of req/s, ${(100 * (figure(on, 'cpuUs') / figure(off, 'cpuUs') - 1)).toFixed(1)}% more CPU per request`;
  console.log(
    `read ratio (caduceus / bare): ${(figure('read', 'rps') / baseline.rps).toFixed(2)}  (issue 2 target >= 0.5)`,
  );
  console.log(`rate limiter cost on reads: ${cost('read', 'read, rate limiting off')}  (issue 5 target < 5%)`);
  console.log(`encryption cost on reads: ${cost('read', 'read, encryption off')}  (issue 4 target < 15%)`);
  console.log(`encryption cost on creates: ${cost('create', 'create, encryption off')}`);
  printLoginBurst(results.get('read, login pair idle'), results.get('read during a login burst'));
  const failed = [...results].filter(([, measured]) => measured.non2xx > 0).map(([name]) => name);
  if (failed.length > 0) throw new Error(`non-2xx answers during: ${failed.join(', ')}`);
  const sizes = searchBenchSizes();
  if (sizes.length > 0) await runSearchBench(sizes);
}

await main();
