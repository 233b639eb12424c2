import type { Logger } from 'pino';

/**
 * What a security event reports. Layers add kinds as they grow; detectors
 * (src/monitoring) switch on them. Names are `layer.what`.
 */
export type SecurityEventKind =
  | 'edge.refused'
  | 'edge.suspicious_input'
  | 'edge.client_cert_ignored'
  | 'tls.reload_failed'
  | 'rate_limit.exceeded'
  | 'breaker.state_changed'
  | 'auth.failed'
  | 'access.denied'
  | 'integrity.error';

/**
 * A security-relevant happening that is not (only) an audit event: a request
 * refused at the edge, a rate-limit hit, a breaker opening. It carries no
 * PHI and no input values (HIPAA 164.312(b)): kinds, codes, counts, ids.
 */
export interface SecurityEvent {
  readonly kind: SecurityEventKind;
  /** ISO 8601 instant. */
  readonly time: string;
  readonly requestId: string | null;
  readonly sourceIp: string | null;
  readonly subject: string | null;
  /** Non-PHI detail: a rule name, a breaker name, a count, an error code. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/** What a producer supplies; time and absent fields are filled in. */
export type SecurityEventInput = Pick<SecurityEvent, 'kind'> & Partial<Omit<SecurityEvent, 'kind'>>;

export type SecurityEventListener = (event: SecurityEvent) => void;

/**
 * The security-event stream (DESIGN.md: monitoring reads the stream of audit
 * and security events and never blocks a request). Emitting is synchronous
 * and never throws: a failing listener is logged, and the others still run.
 */
export interface SecurityEvents {
  emit(input: SecurityEventInput): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: SecurityEventListener): () => void;
}

/** An in-process stream that also logs each event at `warn`, by kind and codes only. */
export function createSecurityEvents(logger: Logger): SecurityEvents {
  const listeners = new Set<SecurityEventListener>();
  return {
    emit(input) {
      const event: SecurityEvent = {
        kind: input.kind,
        time: input.time ?? new Date().toISOString(),
        requestId: input.requestId ?? null,
        sourceIp: input.sourceIp ?? null,
        subject: input.subject ?? null,
        details: input.details ?? {},
      };
      // The event's instant goes out as `at`: pino's own `time` key must not appear twice in a line.
      const { time, ...fields } = event;
      logger.warn({ event: 'security', ...fields, at: time }, event.kind);
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          logger.error(
            { event: 'security.listener_failed', errorType: (error as Error).name },
            'security event listener failed',
          );
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
