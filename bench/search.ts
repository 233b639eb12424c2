/**
 * Patient search latency at growing database sizes (target: p50 under 5 ms,
 * and 1M no more than twice 100k; bench/README.md). One data folder is
 * seeded up to each size in turn (bench/search-seed.ts), then a Caduceus
 * server (`dist/main.js`, everything on: encryption, blind indexes, audit) answers a fixed mix of
 * searches one at a time over TLS, and the latency of each is recorded
 * client-side, so the figures include HTTP, authentication, the audit
 * event and opening the sealed bodies of the page.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { benchPatient } from './patients.js';

const root = path.resolve(import.meta.dirname, '..');
const samplesPerKind = Number(process.env.BENCH_SEARCH_SAMPLES ?? 200);

/** One kind of search, built from a patient known to exist. */
interface QueryKind {
  readonly name: string;
  query(patient: Record<string, unknown>): string;
}

interface BenchName {
  family: string;
  given: string[];
}
const nameOf = (patient: Record<string, unknown>): BenchName => (patient.name as BenchName[])[0]!;
const birthDateOf = (patient: Record<string, unknown>): string => patient.birthDate as string;
const identifierOf = (patient: Record<string, unknown>): { system: string; value: string } =>
  (patient.identifier as { system: string; value: string }[])[0]!;

const queryKinds: readonly QueryKind[] = [
  {
    name: 'identifier system|value',
    query: (p) => `identifier=${encodeURIComponent(`${identifierOf(p).system}|${identifierOf(p).value}`)}`,
  },
  { name: 'family exact', query: (p) => `family=${encodeURIComponent(nameOf(p).family)}` },
  { name: 'family prefix (3)', query: (p) => `family=${encodeURIComponent(nameOf(p).family.slice(0, 3))}` },
  { name: 'name (given)', query: (p) => `name=${encodeURIComponent(nameOf(p).given[0]!)}` },
  { name: 'birthdate day', query: (p) => `birthdate=${birthDateOf(p)}` },
  {
    name: 'given + birth year',
    query: (p) => `given=${encodeURIComponent(nameOf(p).given[0]!)}&birthdate=${birthDateOf(p).slice(0, 4)}`,
  },
  {
    name: 'gender + family',
    query: (p) => `gender=${String(p.gender)}&family=${encodeURIComponent(nameOf(p).family)}`,
  },
];

function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      reject(new Error('server did not listen within 60 s'));
    }, 60_000);
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { event?: string; address?: string };
        if (parsed.event === 'server.listening' && parsed.address !== undefined) {
          clearTimeout(timer);
          lines.close();
          child.stdout!.resume();
          resolve(parsed.address.replace(/\/$/, ''));
        }
      } catch {
        /* not a JSON line */
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`server exited with ${String(code)}`));
    });
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Deterministic sample of patient numbers below `size`. */
function sampleOf(size: number, count: number, salt: number): number[] {
  return Array.from({ length: count }, (_, i) => ((Math.imul(i + 1, 2_654_435_761) + salt * 97) % size) >>> 0);
}

/** Latencies (ms) of each query kind against a running server. */
async function measure(base: string, token: string, size: number): Promise<Map<string, number[]>> {
  const headers = { authorization: `Bearer ${token}` };
  const run = async (query: string): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${base}/api/v1/patients?${query}`, { headers });
    await response.arrayBuffer();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`search answered ${String(response.status)}`);
    return ms;
  };
  // Warm the connection, the caches and the prepared statements.
  for (const n of sampleOf(size, 50, 7)) await run(queryKinds[n % queryKinds.length]!.query(benchPatient(n)));
  const results = new Map<string, number[]>();
  for (const [k, kind] of queryKinds.entries()) {
    const times: number[] = [];
    for (const n of sampleOf(size, samplesPerKind, k + 1)) times.push(await run(kind.query(benchPatient(n))));
    results.set(kind.name, times);
  }
  return results;
}

async function serveAndMeasure(env: NodeJS.ProcessEnv, size: number): Promise<Map<string, number[]>> {
  const server = spawn(process.execPath, [path.join(root, 'dist/main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const base = await waitForUrl(server);
    const token = execFileSync(
      process.execPath,
      [path.join(root, 'dist/cli/main.js'), 'token', 'issue', '--role', 'admin', '--ttl', '1h'],
      { env, encoding: 'utf8' },
    ).trim();
    return await measure(base, token, size);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
}

/**
 * The data folder of one size. With BENCH_SEARCH_KEEP set, `<keep>/<size>`
 * is kept after the run and reused by the next one (seeding a million takes
 * 14 to 25 minutes here: seed once, measure on a quiet machine later); a larger
 * size starts from a copy of the smaller one. Otherwise a temporary folder,
 * grown from one size to the next and removed at the end.
 */
interface SeedFolder {
  readonly dir: string;
  /** Patients already in it. */
  readonly seeded: number;
}

const seededMarker = 'bench-seeded.json';

function keptFolder(keep: string, size: number, previous: SeedFolder | undefined): SeedFolder {
  const dir = path.join(keep, String(size));
  if (existsSync(path.join(dir, seededMarker))) return { dir, seeded: size };
  rmSync(dir, { recursive: true, force: true });
  if (previous === undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return { dir, seeded: 0 };
  }
  cpSync(previous.dir, dir, { recursive: true, filter: (source) => path.basename(source) !== seededMarker });
  return { dir, seeded: previous.seeded };
}

/** Seeds to each size in turn and prints p50/p99 per query kind and overall. */
export async function runSearchBench(sizes: readonly number[]): Promise<void> {
  const keep = process.env.BENCH_SEARCH_KEEP;
  const scratch = keep === undefined ? mkdtempSync(path.join(tmpdir(), 'caduceus-bench-search-')) : undefined;
  // The server's development certificate is self-signed; this client only talks to it on loopback.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const overall = new Map<number, number>();
  try {
    let folder: SeedFolder | undefined;
    for (const size of [...sizes].sort((a, b) => a - b)) {
      folder = scratch === undefined ? keptFolder(keep!, size, folder) : { dir: scratch, seeded: folder?.seeded ?? 0 };
      const env = {
        ...process.env,
        CADUCEUS_DATA_DIR: folder.dir,
        CADUCEUS_PORT: '0',
        CADUCEUS_LOG_LEVEL: 'info',
        CADUCEUS_RATE_LIMIT: 'off',
      };
      if (folder.seeded < size) {
        const started = Date.now();
        execFileSync(
          process.execPath,
          ['--import', 'tsx', path.join(root, 'bench/search-seed.ts'), String(folder.seeded), String(size)],
          { cwd: root, env, stdio: 'inherit' },
        );
        console.log(
          `seeded ${String(folder.seeded)}..${String(size)} patients in ${String(Math.round((Date.now() - started) / 1000))} s`,
        );
        if (scratch === undefined) writeFileSync(path.join(folder.dir, seededMarker), `${JSON.stringify({ size })}\n`);
        folder = { dir: folder.dir, seeded: size };
      } else {
        console.log(`reusing ${folder.dir}: ${String(size)} patients seeded by an earlier run`);
      }
      execFileSync('sync');
      const results = await serveAndMeasure(env, size);
      const all = [...results.values()].flat().sort((a, b) => a - b);
      overall.set(size, percentile(all, 0.5));
      console.log(
        `patient search at ${size.toLocaleString('en')} patients (${String(samplesPerKind)} searches a kind, one at a time):`,
      );
      console.table(
        [...results]
          .map(([name, times]) => {
            const sorted = [...times].sort((a, b) => a - b);
            return {
              query: name,
              'p50 ms': percentile(sorted, 0.5).toFixed(2),
              'p99 ms': percentile(sorted, 0.99).toFixed(2),
            };
          })
          .concat([
            { query: 'all', 'p50 ms': percentile(all, 0.5).toFixed(2), 'p99 ms': percentile(all, 0.99).toFixed(2) },
          ]),
      );
    }
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
  const [smallest, largest] = [Math.min(...sizes), Math.max(...sizes)];
  if (sizes.length > 1) {
    console.log(
      `search p50 ${overall.get(largest)!.toFixed(2)} ms at ${String(largest)} vs ${overall.get(smallest)!.toFixed(2)} ms at ${String(smallest)}: ${(overall.get(largest)! / overall.get(smallest)!).toFixed(2)}x  (issue 4 target: p50 < 5 ms, at most 2x)`,
    );
  }
}

/** Sizes from BENCH_SEARCH_SIZES (comma-separated); empty turns the search benchmark off. */
export function searchBenchSizes(): number[] {
  return (process.env.BENCH_SEARCH_SIZES ?? '100000,1000000').split(',').filter(Boolean).map(Number);
}

if (import.meta.filename === process.argv[1]) {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  await runSearchBench(searchBenchSizes());
}
