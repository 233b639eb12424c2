import { takeToken } from './gcra.js';
import type { RateLimitStore } from './store.js';

/** Options of the in-process store; both exist for tests and for tuning, not for settings. */
export interface MemoryStoreOptions {
  /** The clock, epoch milliseconds (tests pass a fake one). */
  readonly now?: () => number;
  /** Most buckets kept; past it the least recently used bucket is dropped (it then counts as full). */
  readonly maxBuckets?: number;
}

/** Buckets inspected per decision by the idle sweep: a few, so the cost per request stays constant. */
const sweepPerTake = 2;

/**
 * Token buckets in a Map of key → TAT (gcra.ts). Memory stays bounded: a
 * bucket whose TAT has passed is full, i.e. equal to no entry, so a rotating
 * sweep drops idle buckets a couple per decision; and `maxBuckets` caps the
 * rest. Written by hand: it is a Map and a few lines on the request hot path.
 */
export function createMemoryRateLimitStore(
  options: MemoryStoreOptions = {},
): RateLimitStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const maxBuckets = options.maxBuckets ?? 100_000;
  const buckets = new Map<string, number>();

  function sweep(at: number): void {
    for (let i = 0; i < sweepPerTake && buckets.size > 0; i += 1) {
      const oldest = buckets.entries().next();
      if (oldest.done === true) return;
      const [key, tat] = oldest.value;
      buckets.delete(key);
      // Still refilling: back to the end of the rotation.
      if (tat > at) buckets.set(key, tat);
    }
  }

  return {
    take(key, limit) {
      const at = now();
      sweep(at);
      const { decision, tat } = takeToken(buckets.get(key) ?? null, at, limit);
      if (decision.allowed) {
        buckets.delete(key);
        buckets.set(key, tat);
        if (buckets.size > maxBuckets) {
          const oldest = buckets.keys().next();
          if (oldest.done !== true) buckets.delete(oldest.value);
        }
      }
      return Promise.resolve(decision);
    },
    get size() {
      return buckets.size;
    },
  };
}
