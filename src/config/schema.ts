import type { CidrBlock } from '../lib/cidr.js';
import type { MonitoringConfig } from './monitoring.js';
import type { CorsConfig } from './cors.js';
import type { ClientTlsFiles, PostgresTlsConfig } from './client-tls.js';
import type { ExternalIssuerConfig } from './external-issuers-file.js';
import type { LoginConfig } from './login.js';
import type { OAuthConfig } from './oauth.js';
import type { SharedSecretsConfig } from './shared-secrets.js';
import type { MtlsConfig } from './mtls.js';
import type { Pkcs11Config } from './pkcs11.js';
import type { UsersConfig } from './users.js';
import type { KeyProtectionConfig } from './keys.js';
import type { RateLimitConfig } from './rate-limit-policies.js';

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
  /** The mutual-TLS device listener (docs/tls.md); null when CADUCEUS_MTLS_PORT is unset. */
  readonly mtls: MtlsConfig | null;
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
    /** A hospital's own identity providers whose tokens are accepted too (docs/external-idp.md); empty: none. */
    readonly externalIssuers: readonly ExternalIssuerConfig[];
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
  /** Browser origins allowed to call the API cross-origin (docs/access-control.md "CORS"). */
  readonly cors: CorsConfig;
  /** Circuit breakers around asynchronous dependencies (docs/circuit-breakers.md). */
  readonly breakers: {
    /** A PostgreSQL statement (or wait for a pooled connection) slower than this answers 503 and counts against the database. */
    readonly databaseTimeoutMs: number;
    /** How long an open breaker refuses calls before it lets one trial call through. */
    readonly resetMs: number;
  };
  /** Security monitoring: rules, working hours, alert sinks (docs/monitoring.md). */
  readonly monitoring: MonitoringConfig;
  /** Authorization-server token lifetimes (docs/oauth.md). */
  readonly oauth: OAuthConfig;
  /** Secrets every process of a deployment must share; null fields are derived from the master key (docs/key-management.md). */
  readonly sharedSecrets: SharedSecretsConfig;
  /** Login pages, MFA and login-session timeouts (docs/login-and-mfa.md). */
  readonly login: LoginConfig;
  /** Password hashing, its queue and login lockout (docs/users.md). */
  readonly users: UsersConfig;
  /** Token-bucket rate limits: policies per route class and the Redis failure mode (docs/rate-limits.md). */
  readonly rateLimit: RateLimitConfig;
  /** Redis for state shared by several processes; null keeps it in process. */
  readonly redisUrl: string | null;
  /** Verified TLS to Redis (a rediss:// URL) and its files; null: no TLS (docs/database-tls.md). */
  readonly redisTls: ClientTlsFiles | null;
  /** Verified TLS to PostgreSQL; null: no TLS (docs/database-tls.md). */
  readonly databaseTls: PostgresTlsConfig | null;
  /** FIPS mode (docs/fips.md): FIPS 140-3 approved algorithms only, self-tests at start, refusal without a FIPS provider. */
  readonly fips: boolean;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** The server log's form (docs/logging.md): JSON lines, or human-readable lines for a developer's terminal. */
  readonly logFormat: 'json' | 'pretty';
  /** Milliseconds SIGTERM waits for in-flight requests before closing. */
  readonly shutdownGraceMs: number;
  /** How long a stopping server answers 503 with Connection: close on the connections it has, before closing them (src/edge/drain.ts). */
  readonly shutdownDrainMs: number;
}
