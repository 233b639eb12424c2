/** Pieces of the composition root (src/services.ts) that a test may replace. */
import type { Logger } from 'pino';
import type { AuditLog } from './audit/event.js';
import type { ExternalProfileDeps } from './auth/external/index.js';
import type { AccountDirectory } from './auth/oidc/index.js';
import type { Config } from './config/index.js';
import type { RateLimitStore } from './gateway/rate-limit/index.js';
import type { Sealer } from './keys/ports.js';
import type { Breakers } from './lib/circuit-breaker.js';
import type { StartupHooks } from './startup.js';
import type { Database } from './storage/ports.js';

/** What a test's own sealer may be built from. */
export interface SealerContext {
  readonly db: Database;
  readonly config: Config;
  readonly breakers: Breakers;
}

/** Pieces a test may replace; everything absent is opened as the server opens it. */
export interface ServiceOverrides extends StartupHooks {
  readonly logger?: Logger;
  /** Replaces the envelope sealer; there is then no key wrapper, so no blind indexes and no scheduled rotation. */
  readonly sealer?: (context: SealerContext) => Sealer | Promise<Sealer>;
  /** Wraps this process's audit log (e.g. to make it fail, or to watch it) before monitoring observes it. */
  readonly wrapAudit?: (audit: AuditLog) => AuditLog;
  /** Monitoring's SSE heartbeat and clock. */
  readonly monitoring?: { readonly heartbeatMs?: number; readonly clock?: () => number };
  /** Rate-limit buckets of the test's own (e.g. on a fake clock) instead of the configured ones. */
  readonly rateLimitStore?: RateLimitStore;
  /** The Redis key prefix of the configured rate-limit store. */
  readonly rateLimitRedisPrefix?: string;
  /** The accounts the authorization server finds, instead of the user directory; the login pages are then not served. */
  readonly accounts?: AccountDirectory;
  /** A CA the clients' jwks_uri fetch trusts besides the system's. */
  readonly clientJwksCa?: string;
  /** External issuers' key fetching (fake clocks, short cooldowns). */
  readonly externalJwks?: ExternalProfileDeps['jwks'];
  /** How long revocations are kept. */
  readonly revocationRetentionMs?: number;
  /** Milliseconds since the epoch, for the login lockout. */
  readonly now?: () => number;
}
