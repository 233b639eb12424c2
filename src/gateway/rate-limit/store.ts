import type { BucketDecision, BucketLimit } from './gcra.js';

/**
 * Where token buckets live (STYLE.md #2: a small port). In process by
 * default (memory-store.ts); in Redis when several processes must enforce
 * one limit (redis-store.ts). Both pass test/gateway/rate-limit-contract.ts.
 */
export interface RateLimitStore {
  /**
   * Takes one token from the bucket `key` of shape `limit`, atomically: of N
   * concurrent callers on a bucket with B tokens, exactly min(N, B) are
   * allowed. The store keeps its own clock (Redis: the server's).
   */
  take(key: string, limit: BucketLimit): Promise<BucketDecision>;
}
