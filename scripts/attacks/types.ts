import type { Role } from '../../src/http/principal.js';
import type { AlertKind } from '../../src/storage/alerts.js';
import type { RuleSpecs, WorkingHours } from '../../src/config/monitoring-rules.js';
import type { ApiClient } from './http.js';

/** A token a scenario needs, minted with the operator CLI before any scenario runs. */
export interface TokenNeed {
  /** Unique within the simulation; the subject becomes `sim-<name>-<run id>`. */
  readonly name: string;
  readonly role: Role;
}

/** The server settings the simulation sizes its attacks by (read like the CLI reads them: docs/monitoring.md "Attack simulation"). */
export interface ServerSettings {
  readonly databaseUrl: string;
  readonly rules: RuleSpecs;
  readonly hours: WorkingHours | null;
}

/** Which alerts count as this scenario's: those naming its subject or its address, when it knows them. */
export interface AlertMatch {
  readonly subject?: string;
  readonly sourceIp?: string;
}

/** What a scenario did: ran (its alert is then expected) or skipped, with a one-line note that never holds a token. */
export type ScenarioOutcome =
  | { readonly status: 'ran'; readonly note: string; readonly match?: AlertMatch }
  | { readonly status: 'skipped'; readonly note: string };

/** Everything a scenario may use. */
export interface SimulationContext {
  readonly api: ApiClient;
  /** 8 hex characters, in subjects and synthetic patient names, so runs do not collide. */
  readonly runId: string;
  readonly settings: ServerSettings;
  /** True when the server takes this client's X-Forwarded-For (CADUCEUS_TRUSTED_PROXIES covers it). */
  readonly proxyTrusted: boolean;
  /** A fresh random client address to pose as (198.18.0.0/15, RFC 2544), or null when the server does not trust us as a proxy. */
  address(): string | null;
  /** The address of the simulation's own requests (setup, auditor): one, so they raise no new_network alert of their own. */
  readonly home: string | null;
  /** The token minted for a TokenNeed name; never printed. */
  token(name: string): string;
  /** The subject of a TokenNeed name. */
  subject(name: string): string;
  /** Ids of the synthetic patients created for this run (family `Simulated-<run id>`). */
  readonly patients: { readonly family: string; readonly ids: readonly string[] };
  /** A progress line on stderr. */
  progress(line: string): void;
}

/** One attack that should raise one alert kind (STYLE.md #3: small named steps in one visible list, attacks/index.ts). */
export interface Scenario {
  readonly kind: AlertKind;
  /** What the attack does, for the summary table. */
  readonly description: string;
  readonly tokens: readonly TokenNeed[];
  run(context: SimulationContext): Promise<ScenarioOutcome>;
}

/** Most requests one scenario sends: a threshold beyond it is not something to simulate. */
const maxRequests = 5000;

/**
 * How many events cross a rule's threshold with a margin, or why the
 * scenario must skip: the rule is off, or its threshold is too high to
 * simulate (lower it with CADUCEUS_ALERT_RULES).
 */
export function beyondThreshold(settings: ServerSettings, kind: AlertKind): { count: number } | { skip: string } {
  const spec = settings.rules[kind];
  if (spec === null) return { skip: `skipped: the ${kind} rule is off on the server` };
  const count = spec.threshold + Math.max(2, Math.ceil(spec.threshold / 10));
  if (count > maxRequests)
    return { skip: `skipped: threshold ${spec.threshold} is too high to simulate; lower it with CADUCEUS_ALERT_RULES` };
  return { count };
}

/** Throws (naming statuses only) unless every answer had the expected status. */
export function expectStatus(what: string, statuses: readonly number[], expected: number): void {
  const other = statuses.filter((status) => status !== expected);
  if (other.length > 0)
    throw new Error(
      `${what}: expected ${expected}, got ${[...new Set(other)].join(', ')} (${other.length} of ${statuses.length})`,
    );
}
