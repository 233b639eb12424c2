export { takeToken, type BucketDecision, type BucketLimit } from './gcra.js';
export type { RateLimitStore } from './store.js';
export { createMemoryRateLimitStore, type MemoryStoreOptions } from './memory-store.js';
export { createRedisRateLimitStore } from './redis-store.js';
export { createResilientStore } from './resilient-store.js';
export { openRateLimitStore, rateLimitRedisPrefix, rateLimitsEnabled, type OpenedRateLimitStore } from './open.js';
export {
  bucketLimitOf,
  defaultRateLimitPolicies,
  parseRateLimitPolicies,
  rateLimitClasses,
  rateLimitPolicyNames,
  RateLimitSettingError,
  type RateLimitClass,
  type RateLimitConfig,
  type RateLimitPolicy,
  type RateLimitPolicyName,
} from '../../config/rate-limit-policies.js';
export {
  addressRateLimitPlugin,
  createRateLimiter,
  principalRateLimitPlugin,
  type RateLimitOptions,
  type RateLimitStepOptions,
  type RateLimiter,
} from './plugin.js';
