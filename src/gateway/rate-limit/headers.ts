import type { FastifyReply } from 'fastify';
import type { BucketDecision } from './gcra.js';
import type { RateLimitPolicy } from '../../config/rate-limit-policies.js';

/**
 * The RateLimit-Policy and RateLimit fields of
 * draft-ietf-httpapi-ratelimit-headers-10 (September 2025): Structured Field
 * lists (RFC 9651) of policy names with parameters, one member per bucket
 * the request took from, e.g. `RateLimit-Policy: "ip";q=300;w=15, "read";q=120;w=12`
 * and `RateLimit: "ip";r=299;t=1, "read";r=119;t=1`.
 *
 * A token bucket is stated exactly as a quota policy: `q` is the burst (the
 * quota units available after a rest) and `w` the seconds a drained bucket
 * takes to refill completely (burst ÷ rate, rounded up), so q/w is the
 * sustained rate. `r` is the whole tokens left and `t` the seconds until the
 * bucket is full again; Retry-After says when the next request may pass.
 */
export function policyHeaderItem(name: string, policy: RateLimitPolicy): string {
  const windowSeconds = Math.max(1, Math.ceil((policy.burst * policy.periodMs) / policy.rate / 1000));
  return `"${name}";q=${policy.burst};w=${windowSeconds}`;
}

/** One member of the RateLimit field. */
export function stateHeaderItem(name: string, decision: BucketDecision): string {
  return `"${name}";r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1000)}`;
}

/** Retry-After in whole seconds (RFC 9110 §10.2.3), never 0: a refused client must wait. */
export function retryAfterSeconds(decision: BucketDecision): number {
  return Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
}

/** Adds a member to a list field, keeping the members earlier layers set. */
export function appendListHeader(reply: FastifyReply, name: string, item: string): void {
  const current = reply.getHeader(name);
  reply.header(name, current === undefined ? item : `${String(current)}, ${item}`);
}
