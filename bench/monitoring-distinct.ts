/**
 * One caller reading 100,000 distinct patients within the snooping window
 * (a bulk backend client), through the real detector: every default rule on
 * the in-process state, as the server runs them beside each request. Prints
 * the main thread's CPU per event for each block of 10,000 events: it must
 * stay flat as the caller's window fills (it grew with the window when
 * expiry scanned the whole set on every request).
 *
 *   npm run bench:monitoring
 */
import { pino } from 'pino';
import type { AuditEvent } from '../src/audit/event.js';
import { parseRuleSpecs, parseWorkingHours } from '../src/config/monitoring-rules.js';
import { createDetector } from '../src/monitoring/detector.js';
import { createRules } from '../src/monitoring/rules/index.js';
import { createMemoryState } from '../src/monitoring/state/memory.js';

const patients = Number(process.env.BENCH_PATIENTS ?? 100_000);
const block = 10_000;
/** Event time between two reads: 100,000 reads fit in one hour, the snooping rule's default window. */
const spacingMs = 30;

function read(n: number, start: number): AuditEvent {
  return {
    time: new Date(start + n * spacingMs).toISOString(),
    requestId: n.toString(16).padStart(32, '0'),
    category: 'api',
    actor: { subject: 'bulk-client', client: 'backend', role: 'clinician', sourceIp: '10.0.0.7' },
    action: { interaction: 'read', resourceType: 'Patient', resourceId: `patient-${String(n)}` },
    outcome: { status: 200, code: null },
  };
}

async function main(): Promise<void> {
  const start = Date.parse('2026-01-13T10:00:00.000Z');
  const detector = createDetector({
    rules: createRules(parseRuleSpecs(''), parseWorkingHours('')),
    state: createMemoryState(),
    sinks: [],
    logger: pino({ level: 'silent' }),
    clock: () => start,
  });
  const rows: { readonly upTo: number; readonly cpuUs: number }[] = [];
  for (let from = 0; from < patients; from += block) {
    const before = process.cpuUsage();
    for (let n = from; n < from + block; n += 1) {
      detector.onAudit(read(n, start));
      // Settle as the server does: each request's rules finish beside it, not in one backlog at the end.
      if (n % 100 === 99) await detector.settled();
    }
    await detector.settled();
    const used = process.cpuUsage(before);
    rows.push({ upTo: from + block, cpuUs: (used.user + used.system) / block });
  }
  console.log('| distinct patients in the window | main-thread CPU µs per event |');
  console.log('|---|---|');
  for (const row of rows) console.log(`| ${String(row.upTo)} | ${row.cpuUs.toFixed(2)} |`);
  const first = rows[0]?.cpuUs ?? Number.NaN;
  const last = rows.at(-1)?.cpuUs ?? Number.NaN;
  console.log(
    `\nlast block ÷ first block: ${(last / first).toFixed(2)} (flat is about 1; dropped events: ${String(detector.dropped)})`,
  );
}

await main();
