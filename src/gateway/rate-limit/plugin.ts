import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import '../../http/pipeline-plugin.js';
import type { Principal } from '../../http/principal.js';
import { ApiError } from '../../errors/index.js';
import type { SecurityEvents } from '../../lib/security-events.js';
import type { BucketLimit } from './gcra.js';
import { createMemoryRateLimitStore } from './memory-store.js';
import { appendListHeader, policyHeaderItem, retryAfterSeconds, stateHeaderItem } from './headers.js';
import {
  bucketLimitOf,
  rateLimitClasses,
  rateLimitPolicyNames,
  type RateLimitClass,
  type RateLimitConfig,
  type RateLimitPolicyName,
} from '../../config/rate-limit-policies.js';
import type { RateLimitStore } from './store.js';
import '../../access/access-rule.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's rate-limit class (docs/rate-limits.md); `false` exempts it. Absent: read/write by method, default when public. */
    rateLimit?: RateLimitClass | false;
  }
}

/** Options of the rate limiter. */
export interface RateLimitOptions {
  readonly config: RateLimitConfig;
  /** Where buckets live; absent, in this process. */
  readonly store?: RateLimitStore;
  readonly events: SecurityEvents;
  /** Called once per bucket decision (metrics count them by policy and outcome). */
  readonly onDecision?: (policy: string, allowed: boolean) => void;
}

type Stage = 'pre-auth' | 'post-auth';

interface CompiledPolicy {
  readonly limit: BucketLimit;
  /** This policy's RateLimit-Policy member, built once. */
  readonly header: string;
}

/** The request path's rate limiter: a bucket per client address before authentication, per principal after it. */
export interface RateLimiter {
  /** False with CADUCEUS_RATE_LIMIT=off: no step is added at all. */
  readonly enabled: boolean;
  check(
    request: FastifyRequest,
    reply: FastifyReply,
    policy: RateLimitPolicyName,
    key: string,
    stage: Stage,
  ): Promise<void>;
}

/** The verified principal's bucket key: client id and subject, length-prefixed so no two pairs collide. */
function principalKey(principal: Principal): string {
  return `p:${principal.clientId.length}:${principal.clientId}:${principal.subject}`;
}

/** Public routes and unknown paths have no principal: their class bucket is per client address. */
function keyedByAddress(request: FastifyRequest): boolean {
  return request.is404 || request.routeOptions.config.access === 'public';
}

/** The route's declared class; undeclared: `default` when public, else `read` for GET and HEAD, `write` for the rest. */
export function rateLimitClassOf(request: FastifyRequest): RateLimitClass | false {
  if (request.is404) return 'default';
  const declared = request.routeOptions.config.rateLimit;
  if (declared !== undefined) return declared;
  if (keyedByAddress(request)) return 'default';
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
}

/** Builds the limiter from the validated policies; the same limiter serves both stages. */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const compiled = new Map<RateLimitPolicyName, CompiledPolicy>();
  for (const name of rateLimitPolicyNames) {
    const policy = options.config.policies[name];
    if (policy !== null) compiled.set(name, { limit: bucketLimitOf(policy), header: policyHeaderItem(name, policy) });
  }
  const store = options.store ?? createMemoryRateLimitStore();
  return {
    enabled: compiled.size > 0,
    async check(request, reply, policy, key, stage) {
      const compiledPolicy = compiled.get(policy);
      if (compiledPolicy === undefined) return;
      const decision = await store.take(`${policy}:${key}`, compiledPolicy.limit);
      options.onDecision?.(policy, decision.allowed);
      // Allowed and refused answers alike tell the client where it stands (draft-ietf-httpapi-ratelimit-headers-10 §5).
      appendListHeader(reply, 'ratelimit-policy', compiledPolicy.header);
      appendListHeader(reply, 'ratelimit', stateHeaderItem(policy, decision));
      if (decision.allowed) return;
      const principal = stage === 'post-auth' ? request.principal : null;
      // No PHI, no URL: the policy, which bucket, and who (monitoring raises rate_limit_storm from these).
      options.events.emit({
        kind: 'rate_limit.exceeded',
        requestId: request.id,
        sourceIp: request.ip,
        subject: principal?.subject ?? null,
        details: {
          policy,
          stage,
          key: principal === null ? 'ip' : 'principal',
          ...(principal !== null && { client: principal.clientId }),
        },
      });
      throw new ApiError('RATE_LIMITED', undefined, { 'Retry-After': String(retryAfterSeconds(decision)) });
    },
  };
}

/** What each rate-limit step needs: the one limiter both stages share. */
export interface RateLimitStepOptions {
  readonly limiter: RateLimiter;
}

/**
 * Request-path step 2 (DESIGN.md), `address-rate-limit`: every request takes
 * a token from its client address's `ip` bucket, and a public route (login,
 * token, health) also from its class bucket for that address, before the
 * bearer gate spends any work on it. A refusal here is not audited per
 * request; the `rate_limit.exceeded` event is counted per source
 * (src/audit/refusal-counts.ts). Routes declaring an unknown class fail at
 * registration, whether limits are on or off.
 */
export const addressRateLimitPlugin = fp(
  (app: FastifyInstance, options: RateLimitStepOptions) => {
    const { limiter } = options;
    app.addHook('onRoute', (route) => {
      const declared = route.config?.rateLimit;
      if (declared !== undefined && declared !== false && !(rateLimitClasses as readonly string[]).includes(declared)) {
        throw new Error(`route ${route.url} declares an unknown rate-limit class`);
      }
    });
    // CADUCEUS_RATE_LIMIT=off: no step at all, not one that decides nothing.
    if (!limiter.enabled) return;
    app.pipeline.add({
      name: 'address-rate-limit',
      async run(request, reply) {
        const routeClass = rateLimitClassOf(request);
        if (routeClass === false) return;
        const address = `ip:${request.ip}`;
        await limiter.check(request, reply, 'ip', address, 'pre-auth');
        if (keyedByAddress(request)) await limiter.check(request, reply, routeClass, address, 'pre-auth');
      },
    });
  },
  { name: 'caduceus-rate-limit-address', dependencies: ['caduceus-pipeline'] },
);

/**
 * Request-path step 4, `principal-rate-limit`: an authenticated request
 * takes a token from its route class's bucket for the verified principal
 * (client id + subject), so users behind one address do not share, and one
 * token cannot exceed its share from many addresses.
 */
export const principalRateLimitPlugin = fp(
  (app: FastifyInstance, options: RateLimitStepOptions) => {
    const { limiter } = options;
    if (!limiter.enabled) return;
    app.pipeline.add({
      name: 'principal-rate-limit',
      async run(request, reply) {
        const principal = request.principal;
        if (principal === null || keyedByAddress(request)) return;
        const routeClass = rateLimitClassOf(request);
        if (routeClass === false) return;
        await limiter.check(request, reply, routeClass, principalKey(principal), 'post-auth');
      },
    });
  },
  { name: 'caduceus-rate-limit-principal', dependencies: ['caduceus-pipeline', 'caduceus-authenticate'] },
);
