import type { Alert, AlertKind } from '../../src/storage/alerts.js';
import type { ApiClient } from './http.js';
import type { ScenarioOutcome } from './types.js';

/** One row of the summary. */
export interface ResultRow {
  readonly kind: AlertKind;
  readonly scenario: string;
  /** `failed`: the scenario threw before finishing (its note says why); its alert is still expected. */
  readonly status: ScenarioOutcome['status'] | 'failed';
  readonly note: string;
  /** An alert of this kind (and of this scenario's subject or address, when known) was stored since the start. */
  readonly raised: boolean;
}

/** The whole summary, as `--json` prints it. */
export interface Summary {
  readonly ok: boolean;
  readonly since: string;
  readonly proxyTrusted: boolean;
  readonly results: readonly ResultRow[];
  /** Kinds whose scenario ran (or failed) and whose alert was not found. */
  readonly missing: readonly AlertKind[];
}

interface AlertPage {
  readonly alerts: readonly Alert[];
  readonly next: string | null;
}

/** Every alert stored since `since`, following the API's `next` links (docs/audit.md "Alerts"). */
export async function storedAlerts(
  api: ApiClient,
  token: string,
  from: string | null,
  since: string,
): Promise<Alert[]> {
  const alerts: Alert[] = [];
  for (let path: string | null = `/api/v1/alerts?since=${encodeURIComponent(since)}`; path !== null;) {
    const page: AlertPage = await api.json<AlertPage>({ path, token, from });
    alerts.push(...page.alerts);
    path = page.next;
  }
  return alerts;
}

/** True when an alert is of the kind and names the outcome's subject and address, when it has them. */
export function matches(alert: Alert, kind: AlertKind, outcome: ScenarioOutcome | null): boolean {
  if (alert.kind !== kind) return false;
  const match = outcome?.status === 'ran' ? outcome.match : undefined;
  return (
    (match?.subject === undefined || alert.subject === match.subject) &&
    (match?.sourceIp === undefined || alert.sourceIp === match.sourceIp)
  );
}

/** The table printed without `--json`. */
export function formatTable(summary: Summary): string {
  const header = ['kind', 'raised', 'scenario'];
  const rows = summary.results.map((row) => [
    row.kind,
    row.raised ? 'yes' : row.status === 'skipped' ? '-' : 'NO',
    row.note,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  const verdict = summary.ok ? 'every expected alert kind was raised' : `missing: ${summary.missing.join(', ')}`;
  return [
    line(header),
    ...rows.map(line),
    '',
    `X-Forwarded-For trusted: ${summary.proxyTrusted ? 'yes' : 'no'}`,
    verdict,
  ].join('\n');
}
