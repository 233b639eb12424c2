import type { Logger } from 'pino';
import type { AuditEvent } from '../audit/event.js';
import { randomHexId } from '../lib/random.js';
import type { Alert } from '../storage/alerts.js';
import type { AlertSink } from './alert-sink.js';
import type { AlertDraft, Rule, RuleContext } from './rules/index.js';
import type { SecurityEvent } from '../lib/security-events.js';
import type { MonitoringState } from './state/ports.js';

export interface DetectorOptions {
  readonly rules: readonly Rule[];
  readonly state: MonitoringState;
  /** Every sink gets every alert; the alert store plugs in here as one more sink. */
  readonly sinks: readonly AlertSink[];
  readonly logger: Logger;
  /** Epoch ms for alert times and for events without a valid time (tests pass their own). */
  readonly clock?: () => number;
  /** Most events in processing at once; beyond it events are dropped and counted, so a stalled store cannot grow memory without bound. */
  readonly maxPending?: number;
}

/** Hears audit and security events as they happen and raises alerts (DESIGN.md: monitoring). */
export interface Detector {
  /** For observeAuditLog: returns at once; the work runs beside the request. */
  onAudit(event: AuditEvent): void;
  /** For SecurityEvents.subscribe: returns at once. */
  onSecurity(event: SecurityEvent): void;
  /** Resolves once every event heard so far is processed and its alerts delivered. */
  settled(): Promise<void>;
  /** Events dropped because too many were in processing. */
  readonly dropped: number;
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * The detector: each event runs through every rule concurrently, off the
 * request path; rule and sink failures are logged by name and type only
 * (their messages may hold a URL or an address) and never reach a request.
 */
export function createDetector(options: DetectorOptions): Detector {
  const { rules, state, sinks, logger } = options;
  const clock = options.clock ?? Date.now;
  const maxPending = options.maxPending ?? 10_000;
  const pending = new Set<Promise<void>>();
  let dropped = 0;

  async function deliver(alert: Alert): Promise<void> {
    await Promise.all(
      sinks.map(async (sink) => {
        try {
          await sink.deliver(alert);
        } catch (error) {
          // Sinks are isolated: one failing never stops the others.
          logger.error(
            {
              event: 'alert.sink_failed',
              sink: sink.name,
              kind: alert.kind,
              alertId: alert.id,
              errorType: errorType(error),
            },
            'alert sink failed',
          );
        }
      }),
    );
  }

  const context: RuleContext = {
    state,
    raise: (draft: AlertDraft) => deliver({ ...draft, id: randomHexId(), time: new Date(clock()).toISOString() }),
    async raiseOnce(key, windowMs, time, draft) {
      // Windows aligned to the epoch make the claim key the same in every process.
      const window = Math.floor(time / windowMs);
      if (await state.claim(`${key}@${window}`, windowMs, time)) await context.raise(draft);
    },
  };

  function track(run: () => Promise<unknown>[]): void {
    if (pending.size >= maxPending) {
      dropped += 1;
      if (dropped === 1 || dropped % 1000 === 0)
        logger.error({ event: 'monitoring.events_dropped', dropped }, 'monitoring is behind; events dropped');
      return;
    }
    const work = Promise.allSettled(run()).then((results) => {
      for (const [index, result] of results.entries()) {
        if (result.status === 'rejected')
          logger.error(
            { event: 'monitoring.rule_failed', rule: rules[index]?.kind, errorType: errorType(result.reason) },
            'monitoring rule failed',
          );
      }
    });
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }

  function timeOf(iso: string): number {
    const time = Date.parse(iso);
    return Number.isNaN(time) ? clock() : time;
  }

  return {
    onAudit(event) {
      const time = timeOf(event.time);
      track(() => rules.map(async (rule) => rule.onAudit?.(event, time, context)));
    },
    onSecurity(event) {
      const time = timeOf(event.time);
      track(() => rules.map(async (rule) => rule.onSecurity?.(event, time, context)));
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    get dropped() {
      return dropped;
    },
  };
}
