/**
 * `npm run simulate:attacks -- --url https://localhost:8443 --ca data/dev-cert.pem --data-dir data [--json]`
 *
 * Runs one attack per alert kind against a RUNNING server, then asks the
 * alerts API which kinds were raised (docs/monitoring.md "Attack
 * simulation"). Tokens come from the operator CLI with the data folder given;
 * only synthetic patients (`Simulated-…`) are created; no token is printed.
 * Exit code: 0 when every scenario that ran raised its alert, 1 when one is
 * missing, 2 when the simulation could not start.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { alertKinds, type Alert } from '../src/storage/alerts.js';
import { scenarios } from './attacks/index.js';
import { createApiClient, type ApiClient } from './attacks/http.js';
import { mintTokens, serverSettings, subjectOf } from './attacks/operator.js';
import { formatTable, matches, storedAlerts, type ResultRow, type Summary } from './attacks/report.js';
import { assignCareTeam, createPatients, patientsNeeded, proxyTrusted, randomAddress } from './attacks/setup.js';
import type { Scenario, ScenarioOutcome, SimulationContext, TokenNeed } from './attacks/types.js';

const usage =
  'usage: npm run simulate:attacks -- --url https://HOST:PORT --ca CERT.pem --data-dir DIR [--json] [--wait SECONDS]';

interface Options {
  readonly url: string;
  readonly ca: string;
  readonly dataDir: string;
  readonly json: boolean;
  readonly waitMs: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      ca: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      wait: { type: 'string', default: '20' },
    },
    strict: true,
  });
  const waitSeconds = Number(values.wait);
  if (
    values.url === undefined ||
    values.ca === undefined ||
    values['data-dir'] === undefined ||
    !(waitSeconds >= 1 && waitSeconds <= 600)
  )
    throw new TypeError(usage);
  return {
    url: values.url,
    ca: values.ca,
    dataDir: path.resolve(values['data-dir']),
    json: values.json,
    waitMs: waitSeconds * 1000,
  };
}

/** Every token need once: the simulation's own (setup clinician, auditor) and each scenario's. */
function tokenNeeds(list: readonly Scenario[]): TokenNeed[] {
  const own: TokenNeed[] = [
    { name: 'setup', role: 'clinician' },
    { name: 'auditor', role: 'auditor' },
    { name: 'care-admin', role: 'admin' },
  ];
  const byName = new Map([...own, ...list.flatMap((scenario) => scenario.tokens)].map((need) => [need.name, need]));
  return [...byName.values()];
}

async function runScenario(scenario: Scenario, context: SimulationContext): Promise<ScenarioOutcome | Error> {
  context.progress(`${scenario.kind}: ${scenario.description}`);
  try {
    return await scenario.run(context);
  } catch (error) {
    // Our scenarios' messages name statuses and counts only; anything else by its type.
    return error instanceof Error ? error : new Error(typeof error);
  }
}

/** Polls the alerts API until every scenario that ran has its alert, or the wait is over. */
async function waitForAlerts(
  api: ApiClient,
  token: string,
  from: string | null,
  since: string,
  outcomes: ReadonlyMap<Scenario, ScenarioOutcome | Error>,
  waitMs: number,
): Promise<Alert[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const alerts = await storedAlerts(api, token, from, since);
    const expected = [...outcomes].filter(([, outcome]) => outcome instanceof Error || outcome.status === 'ran');
    const missing = expected.filter(
      ([scenario, outcome]) =>
        !alerts.some((alert) => matches(alert, scenario.kind, outcome instanceof Error ? null : outcome)),
    );
    if (missing.length === 0 || Date.now() > deadline) return alerts;
    await sleep(500);
  }
}

function summarize(
  since: string,
  trusted: boolean,
  outcomes: ReadonlyMap<Scenario, ScenarioOutcome | Error>,
  alerts: readonly Alert[],
): Summary {
  const results: ResultRow[] = alertKinds.map((kind) => {
    const entry = [...outcomes].find(([scenario]) => scenario.kind === kind);
    if (entry === undefined)
      return {
        kind,
        scenario: '(none)',
        status: 'failed',
        note: 'no scenario for this kind',
        raised: alerts.some((alert) => alert.kind === kind),
      };
    const [scenario, outcome] = entry;
    if (outcome instanceof Error)
      return {
        kind,
        scenario: scenario.description,
        status: 'failed',
        note: `failed: ${outcome.message}`,
        raised: alerts.some((alert) => matches(alert, kind, null)),
      };
    return {
      kind,
      scenario: scenario.description,
      status: outcome.status,
      note: outcome.note,
      raised: alerts.some((alert) => matches(alert, kind, outcome)),
    };
  });
  const missing = results.filter((row) => row.status !== 'skipped' && !row.raised).map((row) => row.kind);
  return { ok: missing.length === 0, since, proxyTrusted: trusted, results, missing };
}

async function simulate(options: Options): Promise<Summary> {
  const progress = (line: string): void => {
    process.stderr.write(`simulate-attacks: ${line}\n`);
  };
  const settings = serverSettings(options.dataDir);
  const runId = randomBytes(4).toString('hex');
  // A second early: the server stamps alerts with its own clock, on this machine or one close to it.
  const since = new Date(Date.now() - 1000).toISOString();
  progress('minting tokens with the operator CLI');
  const needs = tokenNeeds(scenarios);
  const tokens = await mintTokens(options.dataDir, needs, runId);
  const api = createApiClient(options.url, await readFile(options.ca));
  try {
    const probe = randomAddress();
    const trusted = await proxyTrusted(api, tokens.get('auditor')!, probe);
    const home = trusted ? probe : null;
    const family = `Simulated-${runId}`;
    progress('creating synthetic patients');
    const ids = await createPatients(api, tokens.get('setup')!, home, family, patientsNeeded(settings));
    // Clinicians and nurses reach only assigned patients: the insiders of the scenarios are assigned to the synthetic ones.
    const insiders = needs
      .filter((need) => (need.role === 'clinician' || need.role === 'nurse') && need.name !== 'setup')
      .map((need) => subjectOf(need, runId));
    await assignCareTeam(api, tokens.get('care-admin')!, home, insiders, ids);
    const context: SimulationContext = {
      api,
      runId,
      settings,
      proxyTrusted: trusted,
      home,
      progress,
      address: () => (trusted ? randomAddress() : null),
      token: (name) => tokens.get(name) ?? assertNever(name),
      subject: (name) => subjectOf(needs.find((need) => need.name === name) ?? assertNever(name), runId),
      patients: { family, ids },
    };
    const outcomes = new Map<Scenario, ScenarioOutcome | Error>();
    for (const scenario of scenarios) outcomes.set(scenario, await runScenario(scenario, context));
    progress('waiting for the alerts');
    const alerts = await waitForAlerts(api, tokens.get('auditor')!, home, since, outcomes, options.waitMs);
    return summarize(since, trusted, outcomes, alerts);
  } finally {
    api.close();
  }
}

function assertNever(name: string): never {
  throw new Error(`no token named ${name} was minted`);
}

/** Runs the simulation; resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let summary: Summary;
  try {
    summary = await simulate(options);
  } catch (error) {
    process.stderr.write(`simulate-attacks: ${error instanceof Error ? error.message : typeof error}\n`);
    return 2;
  }
  process.stdout.write(`${options.json ? JSON.stringify(summary) : formatTable(summary)}\n`);
  return summary.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
