import type { CidrBlock } from './cidr.js';
import type { MonitoringConfig } from './monitoring.js';
import type { Pkcs11Config } from './pkcs11.js';
import type { KeyProtectionConfig } from './keys.js';
import type { RateLimitConfig } from '../gateway/rate-limit/policies.js';

/** Edge settings (docs/edge.md): proxies, address lists, request limits, signature mode. */
export interface EdgeConfig {
  /** Peers whose X-Forwarded-For is honoured; empty trusts none. */
  readonly trustedProxies: readonly CidrBlock[];
  /** When non-empty, only these client addresses are served. */
  readonly allowList: readonly CidrBlock[];
  /** Client addresses always refused with 403. */
  readonly denyList: readonly CidrBlock[];
  /** Longest request target (path and query), bytes. */
  readonly maxUrlBytes: number;
  /** Most header fields one request may carry. */
  readonly maxHeaderCount: number;
  /** Most query parameters one request may carry. */
  readonly maxQueryParams: number;
  /** Most open connections per peer address; 0 is unlimited. */
  readonly maxConnectionsPerIp: number;
  /** SQL- or script-looking input: reported only, or also refused. */
  readonly suspiciousInput: 'report' | 'block';
}

/** The validated, frozen configuration every module receives (STYLE.md #5). */
export interface Config {
  readonly env: 'development' | 'production';
  readonly host: string;
  readonly port: number;
  /** Folder for the SQLite database, keyring and development certificate. */
  readonly dataDir: string;
  /** A SQLite file path or a postgres:// URL. */
  readonly databaseUrl: string;
  readonly tls: {
    readonly certPath: string;
    readonly keyPath: string;
    /** True when the cert/key are the generated development pair. */
    readonly generated: boolean;
  };
  readonly limits: {
    /** Largest accepted request body, bytes. */
    readonly bodyBytes: number;
    /** Largest accepted request header block, bytes. */
    readonly headerBytes: number;
    /** Milliseconds a client may take to send its headers. */
    readonly headersTimeoutMs: number;
    /** Milliseconds a client may take to send its whole request. */
    readonly requestTimeoutMs: number;
    /** Search page size when _count is not given, and its cap. */
    readonly defaultPageSize: number;
    readonly maxPageSize: number;
  };
  readonly auth: {
    /** `iss` of tokens this server signs, and of the local issuer profile. */
    readonly issuer: string;
    /** `aud` the API requires. */
    readonly audience: string;
    readonly clockSkewSeconds: number;
  };
  /** Signing keyring, key manager and envelope encryption (docs/key-management.md). */
  readonly keys: KeyProtectionConfig & {
    /** The local keyring file (token- and audit-signing keys). */
    readonly keyringPath: string;
    /** The PKCS#11 HSM (CADUCEUS_PKCS11_*); null when none is configured. */
    readonly pkcs11: Pkcs11Config | null;
  };
  readonly audit: {
    /** Milliseconds between signed checkpoints of a writer's chain. */
    readonly checkpointIntervalMs: number;
    /** Most events one NDJSON export of the audit API streams (docs/audit.md "Querying"). */
    readonly exportMaxRecords: number;
  };
  /** The edge layer's network and request filters (docs/edge.md). */
  readonly edge: EdgeConfig;
  /** Circuit breakers around asynchronous dependencies (docs/circuit-breakers.md). */
  readonly breakers: {
    /** A PostgreSQL statement (or wait for a pooled connection) slower than this answers 503 and counts against the database. */
    readonly databaseTimeoutMs: number;
    /** How long an open breaker refuses calls before it lets one trial call through. */
    readonly resetMs: number;
  };
  /** Security monitoring: rules, working hours, alert sinks (docs/monitoring.md). */
  readonly monitoring: MonitoringConfig;
  /** Token-bucket rate limits: policies per route class and the Redis failure mode (docs/rate-limits.md). */
  readonly rateLimit: RateLimitConfig;
  /** Redis for state shared by several processes; null keeps it in process. */
  readonly redisUrl: string | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Milliseconds SIGTERM waits for in-flight requests before closing. */
  readonly shutdownGraceMs: number;
}
