import { CaduceusError } from '../errors/index.js';

export interface BucketLimit {
  /** Milliseconds between tokens: the policy's period divided by its rate. */
  readonly emissionMs: number;
  /** Most tokens the bucket holds: requests allowed at once after a rest. */
  readonly burst: number;
}

/**
 * Rate-limit policies (docs/rate-limits.md) and the parser of their setting.
 * Pure: src/config/load.ts reads the environment, calls these, and turns a
 * RateLimitSettingError into a ConfigError naming the setting.
 */

/**
 * Route classes a route declares with `config: { rateLimit: 'read' }`:
 * `auth` is for login, token and MFA endpoints (much stricter), `default`
 * for public routes that declare nothing (health, readiness).
 */
export const rateLimitClasses = ['read', 'write', 'auth', 'default'] as const;
export type RateLimitClass = (typeof rateLimitClasses)[number];

/** `ip` is the pre-authentication bucket every request takes from, per client address. */
export type RateLimitPolicyName = 'ip' | RateLimitClass;
export const rateLimitPolicyNames: readonly RateLimitPolicyName[] = ['ip', ...rateLimitClasses];

/** A policy: `rate` requests per `periodMs` sustained, bursts of up to `burst` at once. */
export interface RateLimitPolicy {
  readonly rate: number;
  readonly periodMs: number;
  readonly burst: number;
}

/** Every policy by name (null: that policy is off), and what to do while Redis is unreachable. */
export interface RateLimitConfig {
  readonly policies: Readonly<Record<RateLimitPolicyName, RateLimitPolicy | null>>;
  /** `local`: decide with in-process buckets meanwhile; `closed`: answer 503 SERVICE_UNAVAILABLE. */
  readonly redisFailure: 'local' | 'closed';
}

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

/**
 * Defaults, documented in docs/rate-limits.md (keep the two in step). Per
 * principal for read/write; per client address for ip (a clinic behind one
 * NAT address shares it, hence its size), auth and default.
 */
export const defaultRateLimitPolicies: Readonly<Record<RateLimitPolicyName, RateLimitPolicy>> = {
  ip: { rate: 1200, periodMs: minute, burst: 300 },
  read: { rate: 600, periodMs: minute, burst: 120 },
  write: { rate: 120, periodMs: minute, burst: 30 },
  auth: { rate: 10, periodMs: minute, burst: 5 },
  default: { rate: 300, periodMs: minute, burst: 60 },
};

/** The bucket shape of a policy. */
export function bucketLimitOf(policy: RateLimitPolicy): BucketLimit {
  return { emissionMs: policy.periodMs / policy.rate, burst: policy.burst };
}

/** What a setting value got wrong; the message never repeats the value. */
export class RateLimitSettingError extends CaduceusError {
  override readonly name = 'RateLimitSettingError';
  readonly code = 'RATE_LIMIT_SETTING_INVALID';
  readonly operatorSafe = true;
}

const units: Readonly<Record<string, number>> = { s: second, m: minute, h: hour };
/** Up to a million per period of at least a second: the emission interval stays ≥ 1 µs, which Redis stores exactly. */
const maxCount = 1_000_000;

function parseCount(raw: string, what: string, name: string): number {
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > maxCount) {
    throw new RateLimitSettingError(`${name}: the ${what} must be a whole number from 1 to ${maxCount}`);
  }
  return Number(raw);
}

function parsePolicy(raw: string, name: string): RateLimitPolicy | null {
  if (raw === 'off') return null;
  const match = /^([^/:]*)\/([^/:]*)(?::([^/:]*))?$/.exec(raw);
  if (match === null) throw new RateLimitSettingError(`${name}: must be RATE/PERIOD, RATE/PERIOD:BURST or off`);
  const rate = parseCount(match[1] ?? '', 'rate', name);
  const period = /^(\d{1,5})([smh])$/.exec(match[2] ?? '');
  const periodMs = period === null ? Number.NaN : Number(period[1]) * (units[period[2] ?? ''] ?? Number.NaN);
  if (!(periodMs >= second && periodMs <= 24 * hour))
    throw new RateLimitSettingError(`${name}: the period must be a number with s, m or h, from 1s to 24h`);
  const burst = match[3] === undefined ? rate : parseCount(match[3], 'burst', name);
  return { rate, periodMs, burst };
}

function isPolicyName(name: string): name is RateLimitPolicyName {
  return (rateLimitPolicyNames as readonly string[]).includes(name);
}

/**
 * Parses `CADUCEUS_RATE_LIMIT`: empty for the defaults, `off` for no limits
 * at all (benchmarks), or comma-separated overrides `name=RATE/PERIOD[:BURST]`
 * or `name=off` (e.g. `read=300/1m:60,auth=5/1m:3`). Without `:BURST` the
 * whole period's rate may come at once.
 */
export function parseRateLimitPolicies(raw: string): RateLimitConfig['policies'] {
  const value = raw.trim();
  if (value === 'off')
    return Object.fromEntries(rateLimitPolicyNames.map((name) => [name, null])) as RateLimitConfig['policies'];
  const policies: Record<RateLimitPolicyName, RateLimitPolicy | null> = { ...defaultRateLimitPolicies };
  if (value === '') return policies;
  const seen = new Set<string>();
  for (const entry of value.split(',')) {
    const [name = '', spec, ...extra] = entry.trim().split('=');
    if (!isPolicyName(name))
      throw new RateLimitSettingError(`has an unknown policy; known: ${rateLimitPolicyNames.join(', ')}`);
    if (spec === undefined || extra.length > 0)
      throw new RateLimitSettingError(`${name}: must be name=RATE/PERIOD[:BURST] or name=off`);
    if (seen.has(name)) throw new RateLimitSettingError(`${name}: set twice`);
    seen.add(name);
    policies[name] = parsePolicy(spec.trim(), name);
  }
  return policies;
}
