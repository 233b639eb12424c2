/**
 * `npm run bench`: autocannon against a bare Fastify JSON route and against
 * Caduceus's authenticated GET /api/v1/patients/{id} (audit log on, SQLite),
 * both over TLS 1.3 on loopback, in one run. Prints req/s, p99 and ratios.
 * Figures are ratios within one run on one machine, never absolute targets.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const root = path.resolve(import.meta.dirname, '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);

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
          // Stop parsing: the rest of the output (a log line per request) is drained unread.
          lines.close();
          child.stdout!.resume();
          resolve(url);
        }
      } catch { /* not a JSON line */ }
    });
    child.once('exit', (code) => { reject(new Error(`${event}: process exited with ${String(code)}`)); });
  });
}

async function load(url: string, headers: Record<string, string> = {}): Promise<{ rps: number; p99: number; non2xx: number }> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(path.join(tmpdir(), 'caduceus-bench-'));
  const env = { ...process.env, CADUCEUS_DATA_DIR: dir, CADUCEUS_PORT: '0', CADUCEUS_LOG_LEVEL: 'info' };
  const server = spawn(process.execPath, [path.join(root, 'dist/main.js')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const children: ChildProcess[] = [server];
  try {
    const base = await waitForUrl(server, 'server.listening');
    const bare = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/bare-server.ts'), path.join(dir, 'dev-cert.pem'), path.join(dir, 'dev-key.pem')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(bare);
    const bareUrl = await waitForUrl(bare, 'bare.listening');
    const token = execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), 'token', 'issue', '--role', 'clinician', '--ttl', '1h'], { cwd: dir, env, encoding: 'utf8' }).trim();
    const auth = { authorization: `Bearer ${token}` };
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const created = await fetch(`${base}/api/v1/patients`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Chalmers', given: ['Peter', 'James'] }], gender: 'male', birthDate: '1974-12-25' }),
    });
    const location = created.headers.get('location');
    if (created.status !== 201 || location === null) throw new Error(`setup: create answered ${created.status}`);

    const baseline = await load(`${bareUrl}/bare`);
    const read = await load(`${base.replace(/\/$/, '')}${location}`, auth);
    const rows = [
      { target: 'bare fastify GET /bare', ...baseline },
      { target: 'caduceus GET /api/v1/patients/{id}', ...read },
    ];
    console.table(rows.map((row) => ({ target: row.target, 'req/s': Math.round(row.rps), 'p99 ms': row.p99, non2xx: row.non2xx })));
    console.log(`ratio (caduceus / bare) req/s: ${(read.rps / baseline.rps).toFixed(2)}  (target >= 0.5)`);
    console.log(`p99 ratio (caduceus / bare): ${(read.p99 / Math.max(baseline.p99, 1)).toFixed(2)}`);
    if (read.non2xx > 0) throw new Error('caduceus answered non-2xx during the run');
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
