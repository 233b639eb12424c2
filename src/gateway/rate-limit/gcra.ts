import type { BucketLimit } from '../../config/rate-limit-policies.js';

export type { BucketLimit } from '../../config/rate-limit-policies.js';
/**
 * The token bucket as GCRA (the generic cell rate algorithm of ITU-T I.371):
 * one number per bucket, the theoretical arrival time (TAT). A bucket of
 * `burst` tokens refilled by one token every `emissionMs` allows a request at
 * `now` when TAT - now ≤ (burst - 1) · emissionMs; an allowed request moves
 * TAT on by one emission interval. Burst and sustained rate are separate
 * (not a fixed window: there is no window edge to double up on), and a
 * bucket at rest is simply absent, which lets idle state expire.
 *
 * Pure: the clock is an argument. The Redis adapter's Lua script
 * (redis-store.ts) mirrors this arithmetic; the store contract suite holds
 * the two to the same answers.
 */

/** A bucket's shape: `burst` tokens, one more every `emissionMs` (rate = 1 / emissionMs). */
/** One decision on one bucket, as every store answers it. */
export interface BucketDecision {
  readonly allowed: boolean;
  /** Whole tokens left after this decision. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again (0 when it already is). */
  readonly resetMs: number;
  /** Milliseconds until the next request would be allowed (0 when allowed). */
  readonly retryAfterMs: number;
}

/** The decision and the bucket's new TAT (unchanged when refused: refusals cost nothing). */
export interface GcraResult {
  readonly decision: BucketDecision;
  readonly tat: number;
}

/** Float slack in milliseconds: 3 × (period / 3) must count as one full period, not a hair over. */
export const gcraEpsilonMs = 1e-6;

/**
 * Takes one token from a bucket whose TAT is `tat` (null: never seen or
 * expired, i.e. full) at instant `now`, both in milliseconds on one clock.
 */
export function takeToken(tat: number | null, now: number, limit: BucketLimit): GcraResult {
  const start = tat === null || tat < now ? now : tat;
  const capacityMs = limit.emissionMs * limit.burst;
  const next = start + limit.emissionMs;
  const allowAt = next - capacityMs;
  if (allowAt - now > gcraEpsilonMs) {
    return {
      tat: start,
      decision: {
        allowed: false,
        remaining: Math.max(0, Math.floor((capacityMs - (start - now)) / limit.emissionMs + gcraEpsilonMs)),
        resetMs: Math.ceil(start - now - gcraEpsilonMs),
        retryAfterMs: Math.ceil(allowAt - now - gcraEpsilonMs),
      },
    };
  }
  return {
    tat: next,
    decision: {
      allowed: true,
      remaining: Math.max(0, Math.floor((capacityMs - (next - now)) / limit.emissionMs + gcraEpsilonMs)),
      resetMs: Math.ceil(next - now - gcraEpsilonMs),
      retryAfterMs: 0,
    },
  };
}
