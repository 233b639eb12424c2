import type { AuditEvent } from '../../audit/event.js';
import type { RuleSpec } from '../../config/monitoring-rules.js';
import type { AlertDraft, RuleContext } from './types.js';

/** A bearer token refused at authentication (401 with the verifier's reason). */
export function isBearerFailure(event: AuditEvent): boolean {
  return event.outcome.status === 401 && event.action.details?.authFailure !== undefined;
}

/** An API request that a verified principal made and that succeeded. */
export function isSuccessfulAccess(
  event: AuditEvent,
): event is AuditEvent & { readonly actor: { readonly subject: string } } {
  return (
    event.category === 'api' &&
    event.actor.subject !== null &&
    event.outcome.status >= 200 &&
    event.outcome.status < 300
  );
}

/** `5m`, `1h`, `30d`: how summaries name a window. */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/**
 * The common shape of a threshold rule: add to the key's sliding window,
 * and once the count reaches the threshold raise one alert for the window.
 * Resolves true when the threshold is reached (raised now or earlier).
 */
export async function countAndRaise(
  context: RuleContext,
  spec: RuleSpec,
  counter: { readonly key: string; readonly amount: number; readonly time: number },
  draft: (count: number) => AlertDraft,
): Promise<boolean> {
  const count = await context.state.count(counter.key, counter.amount, spec.windowMs, counter.time);
  if (count < spec.threshold) return false;
  await context.raiseOnce(counter.key, spec.windowMs, counter.time, draft(count));
  return true;
}

/** The threshold fields every threshold alert carries. */
export function thresholdDetails(
  count: number,
  spec: RuleSpec,
): { count: number; threshold: number; windowSeconds: number } {
  return { count, threshold: spec.threshold, windowSeconds: spec.windowMs / 1000 };
}
