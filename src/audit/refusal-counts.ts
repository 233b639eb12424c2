import type { SecurityEvent, SecurityEvents } from '../lib/security-events.js';
import { randomHexId } from '../lib/random.js';
import type { AuditEvent, AuditLog } from './event.js';

/** Options of {@link countRefusals}. */
export interface RefusalCountOptions {
  readonly events: SecurityEvents;
  readonly audit: AuditLog;
  /** Length of one counting window; one audit event per source, kind and rule per window. */
  readonly windowMs: number;
  /** Distinct (source, rule) pairs counted per window; the rest are counted under a null source. */
  readonly maxKeys?: number;
  /** An audit write that failed (nobody awaits it: the refused requests have long been answered). */
  readonly onError: (error: unknown) => void;
  readonly now?: () => number;
}

/** The running counter; `close` writes what was counted so far. */
export interface RefusalCounter {
  /** Writes the current window's counts now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Count {
  readonly kind: SecurityEvent['kind'];
  readonly sourceIp: string | null;
  readonly rule: string;
  readonly code: string | null;
  count: number;
}

/** Refusals that never reached authentication, so no per-request audit event exists for them. */
function isEarlyRefusal(event: SecurityEvent): boolean {
  if (event.kind === 'edge.refused') return true;
  return event.kind === 'rate_limit.exceeded' && event.details.stage === 'pre-auth';
}

const statusOf: Readonly<Record<string, number>> = {
  VALIDATION_ERROR: 400,
  BAD_REQUEST: 400,
  FORBIDDEN: 403,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
};

/**
 * Requests refused before authentication (edge filters, pre-auth rate
 * limits, malformed requests) get no audit event each — a flood would
 * become an audit flood — but are counted per source, kind and rule and
 * written as one audit event per window (a minute in the server;
 * docs/audit.md). Memory is bounded by `maxKeys`.
 */
export function countRefusals(options: RefusalCountOptions): RefusalCounter {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 10_000;
  let windowStart = now();
  let counts = new Map<string, Count>();

  const unsubscribe = options.events.subscribe((event) => {
    if (!isEarlyRefusal(event)) return;
    const rule =
      typeof event.details.rule === 'string'
        ? event.details.rule
        : typeof event.details.policy === 'string'
          ? event.details.policy
          : 'unspecified';
    const code =
      typeof event.details.code === 'string'
        ? event.details.code
        : event.kind === 'rate_limit.exceeded'
          ? 'RATE_LIMITED'
          : null;
    let sourceIp = event.sourceIp;
    let key = `${event.kind}|${rule}|${sourceIp ?? ''}`;
    if (!counts.has(key) && counts.size >= maxKeys) {
      sourceIp = null;
      key = `${event.kind}|${rule}|`;
    }
    const existing = counts.get(key);
    if (existing === undefined) counts.set(key, { kind: event.kind, sourceIp, rule, code, count: 1 });
    else existing.count += 1;
  });

  async function flush(): Promise<void> {
    const ended = counts;
    const start = windowStart;
    counts = new Map();
    windowStart = now();
    if (ended.size === 0) return;
    const time = new Date(start).toISOString();
    const written = [...ended.values()].map((entry) => options.audit.record(eventOf(entry, time, windowStart - start)));
    for (const result of await Promise.allSettled(written)) {
      if (result.status === 'rejected') options.onError(result.reason);
    }
  }

  const timer = setInterval(() => {
    void flush();
  }, options.windowMs);
  timer.unref();
  return {
    flush,
    async close() {
      clearInterval(timer);
      unsubscribe();
      await flush();
    },
  };
}

function eventOf(entry: Count, time: string, windowMs: number): AuditEvent {
  return {
    time,
    // An id of its own: the refused requests' ids were answered and are not kept.
    requestId: randomHexId(),
    category: 'edge',
    actor: { subject: null, client: null, role: null, sourceIp: entry.sourceIp },
    action: {
      interaction: entry.kind,
      resourceType: null,
      resourceId: null,
      details: { rule: entry.rule, count: entry.count, windowMs },
    },
    outcome: { status: (entry.code !== null ? statusOf[entry.code] : undefined) ?? 400, code: entry.code },
  };
}
