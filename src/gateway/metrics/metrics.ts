import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState, Breakers } from '../../lib/circuit-breaker.js';

/** Seconds; from a cached read (~1 ms) to a request that waited for a slow database. */
const requestBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; an audit group commit or a key operation is usually well under 10 ms, an HSM round trip slower. */
const dependencyBuckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Gauge values of breaker states: ordered so that "higher is worse" in a dashboard. */
export const breakerStateValues: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/** What a completed request is counted by: never the URL (its path and query may carry PHI). */
export interface RequestLabels {
  /** The route pattern (`/api/v1/patients/:id`), or `unmatched`. */
  readonly route: string;
  readonly method: string;
  readonly status: number;
}

/** A key operation as the latency histogram names it. */
export type KeyOperation = 'seal' | 'open' | 'sign' | 'public_keys';

/**
 * One app's Prometheus metrics (docs/metrics.md), on a registry of its own:
 * never prom-client's global registry, so two apps in one process never
 * share a counter (STYLE.md #1: no module-level state).
 */
export interface Metrics {
  /** The exposition format's Content-Type (`text/plain; version=0.0.4`). */
  readonly contentType: string;
  /** Every metric in the Prometheus text format. */
  render(): Promise<string>;
  observeRequest(labels: RequestLabels, seconds: number): void;
  /** The rate limiter's decision hook: one count per decision, by policy name. */
  countRateLimitDecision(policy: string, allowed: boolean): void;
  /** A refused bearer token, by the machine reason the audit event records (`missing` when none was sent). */
  countAuthFailure(reason: string): void;
  observeAuditWrite(outcome: 'ok' | 'error', seconds: number): void;
  observeKeyOperation(operation: KeyOperation, outcome: 'ok' | 'error', seconds: number): void;
  /** Stops following breaker state changes. */
  close(): void;
}

/** Metrics are a side path: a sample that cannot be recorded is dropped, never thrown into a request. */
function quietly(record: () => void): void {
  try {
    record();
  } catch {
    // Dropped on purpose (see above).
  }
}

/** Creates the app's registry with the request, gateway, audit, breaker, key and default process metrics. */
export function createMetrics(options: { readonly breakers: Breakers }): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const requests = new Histogram({
    name: 'caduceus_http_request_duration_seconds',
    help: 'Time from request received to response sent, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: requestBuckets,
    registers,
  });
  const rateLimit = new Counter({
    name: 'caduceus_rate_limit_decisions_total',
    help: 'Rate-limit decisions by policy and outcome (allowed or limited).',
    labelNames: ['policy', 'outcome'] as const,
    registers,
  });
  const authFailures = new Counter({
    name: 'caduceus_auth_failures_total',
    help: 'Requests refused by the bearer-token gate, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const auditWrites = new Histogram({
    name: 'caduceus_audit_write_duration_seconds',
    help: 'Time until a request audit event is durable (or failed), by outcome.',
    labelNames: ['outcome'] as const,
    buckets: dependencyBuckets,
    registers,
  });
  const keyOperations = new Histogram({
    name: 'caduceus_key_operation_duration_seconds',
    help: 'Latency of sealing, opening and signing through the key manager, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: dependencyBuckets,
    registers,
  });
  const { breakers } = options;
  new Gauge({
    name: 'caduceus_circuit_breaker_state',
    help: 'State of each circuit breaker: 0 closed, 1 half-open, 2 open.',
    labelNames: ['breaker'] as const,
    registers,
    // Read at scrape time: breakers created after the app (or by another layer) are included.
    collect() {
      for (const breaker of breakers.list()) this.set({ breaker: breaker.name }, breakerStateValues[breaker.state]);
    },
  });
  const transitions = new Counter({
    name: 'caduceus_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes, by breaker and the state entered.',
    labelNames: ['breaker', 'state'] as const,
    registers,
  });
  const unsubscribe = breakers.onStateChange((breaker, state) => {
    quietly(() => {
      transitions.inc({ breaker, state });
    });
  });

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRequest(labels, seconds) {
      quietly(() => {
        requests.observe({ route: labels.route, method: labels.method, status: String(labels.status) }, seconds);
      });
    },
    countRateLimitDecision(policy, allowed) {
      quietly(() => {
        rateLimit.inc({ policy, outcome: allowed ? 'allowed' : 'limited' });
      });
    },
    countAuthFailure(reason) {
      quietly(() => {
        authFailures.inc({ reason });
      });
    },
    observeAuditWrite(outcome, seconds) {
      quietly(() => {
        auditWrites.observe({ outcome }, seconds);
      });
    },
    observeKeyOperation(operation, outcome, seconds) {
      quietly(() => {
        keyOperations.observe({ operation, outcome }, seconds);
      });
    },
    close: unsubscribe,
  };
}
