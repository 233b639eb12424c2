import { pino } from 'pino';
import type { AuditEvent } from '../../src/audit/event.js';
import type { Alert } from '../../src/storage/alerts.js';
import type { AlertSink } from '../../src/monitoring/alert-sink.js';
import { createDetector, type Detector } from '../../src/monitoring/detector.js';
import { parseRuleSpecs, parseWorkingHours } from '../../src/config/monitoring-rules.js';
import { createRules } from '../../src/monitoring/rules/index.js';
import type { SecurityEvent, SecurityEventKind } from '../../src/lib/security-events.js';
import { createMemoryState } from '../../src/monitoring/state/memory.js';
import type { MonitoringState } from '../../src/monitoring/state/ports.js';

/** A Tuesday in winter, 10:00 UTC (11:00 in Berlin). */
export const t0 = Date.parse('2025-01-14T10:00:00.000Z');

export interface AuditShape {
  subject?: string | null;
  client?: string | null;
  role?: string | null;
  ip?: string | null;
  status?: number;
  interaction?: string;
  resourceType?: string | null;
  resourceId?: string | null;
  resultIds?: string[];
  authFailure?: string;
  claimedSubject?: string;
  time?: number;
}

let sequence = 0;

/** An audit event as the request path writes it. */
export function auditEvent(shape: AuditShape = {}): AuditEvent {
  sequence += 1;
  return {
    time: new Date(shape.time ?? t0).toISOString(),
    requestId: `req${String(sequence).padStart(29, '0')}`,
    category: 'api',
    actor: {
      subject: shape.subject === undefined ? 'user-1' : shape.subject,
      client: shape.client === undefined ? 'app-1' : shape.client,
      role: shape.role === undefined ? 'clinician' : shape.role,
      sourceIp: shape.ip === undefined ? '203.0.113.10' : shape.ip,
    },
    action: {
      interaction: shape.interaction ?? 'read',
      resourceType: shape.resourceType === undefined ? 'Patient' : shape.resourceType,
      resourceId: shape.resourceId ?? null,
      ...(shape.resultIds !== undefined && { resultIds: shape.resultIds }),
      ...(shape.authFailure !== undefined && {
        details: {
          authFailure: shape.authFailure,
          ...(shape.claimedSubject !== undefined && { claimedSubject: shape.claimedSubject }),
        },
      }),
    },
    outcome: { status: shape.status ?? 200, code: null },
  };
}

/** A security event as a producer emits it. */
export function securityEvent(
  kind: SecurityEventKind,
  shape: {
    subject?: string | null;
    ip?: string | null;
    time?: number;
    details?: Record<string, string | number | boolean>;
  } = {},
): SecurityEvent {
  return {
    kind,
    time: new Date(shape.time ?? t0).toISOString(),
    requestId: null,
    sourceIp: shape.ip ?? null,
    subject: shape.subject ?? null,
    details: shape.details ?? {},
  };
}

/** A sink that keeps what it gets. */
export function captureSink(name = 'capture'): AlertSink & { readonly alerts: Alert[] } {
  const alerts: Alert[] = [];
  return {
    name,
    alerts,
    deliver: (alert) => {
      alerts.push(alert);
      return Promise.resolve();
    },
  };
}

export interface Harness {
  readonly detector: Detector;
  readonly alerts: Alert[];
  /** Feeds events and waits for the detector. */
  audit(...events: AuditEvent[]): Promise<void>;
  security(...events: SecurityEvent[]): Promise<void>;
  kinds(): string[];
}

/** A detector with the rules parsed from settings values, memory state (unless given) and a capturing sink. */
export function harness(
  options: { rules?: string; hours?: string; state?: MonitoringState; sinks?: AlertSink[] } = {},
): Harness {
  const capture = captureSink();
  const detector = createDetector({
    rules: createRules(parseRuleSpecs(options.rules ?? ''), parseWorkingHours(options.hours ?? '')),
    state: options.state ?? createMemoryState(),
    sinks: [...(options.sinks ?? []), capture],
    logger: pino({ level: 'silent' }),
    clock: () => t0,
  });
  return {
    detector,
    alerts: capture.alerts,
    async audit(...events) {
      for (const event of events) detector.onAudit(event);
      await detector.settled();
    },
    async security(...events) {
      for (const event of events) detector.onSecurity(event);
      await detector.settled();
    },
    kinds: () => capture.alerts.map((alert) => alert.kind),
  };
}

/** n copies made by a factory (index passed). */
export function times<T>(n: number, make: (index: number) => T): T[] {
  return Array.from({ length: n }, (_, index) => make(index));
}
