/**
 * Detection state: sliding-window counters, distinct sets and one-shot
 * claims (STYLE.md #2: a small port; memory and Redis adapters pass one
 * contract suite, test/monitoring/state-contract.ts). Times are the events'
 * own instants in epoch milliseconds, so windows follow when things happened.
 */
export interface MonitoringState {
  /** Adds `amount` at `now` to a sliding-window counter; resolves the total within the window ending at `now`. */
  count(key: string, amount: number, windowMs: number, now: number): Promise<number>;
  /** Adds members at `now` to a sliding-window distinct set; resolves its size before and after. */
  distinct(
    key: string,
    members: readonly string[],
    windowMs: number,
    now: number,
  ): Promise<{ readonly before: number; readonly after: number }>;
  /** True for exactly one caller per key until `ttlMs` has passed (the alert dedupe). */
  claim(key: string, ttlMs: number, now: number): Promise<boolean>;
}

/**
 * Counters keep ten buckets per window: the window slides in tenths, so a
 * count covers between nine and ten tenths of it. Both adapters use this.
 */
export const bucketsPerWindow = 10;

/** The bucket `now` falls in, and the oldest bucket still inside the window. */
export function bucketRange(
  windowMs: number,
  now: number,
): { readonly bucketMs: number; readonly current: number; readonly oldest: number } {
  const bucketMs = Math.max(1, Math.ceil(windowMs / bucketsPerWindow));
  const current = Math.floor(now / bucketMs);
  return { bucketMs, current, oldest: current - bucketsPerWindow + 1 };
}
