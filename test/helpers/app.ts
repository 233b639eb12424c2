import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import type { AuditLog } from '../../src/audit/event.js';
import { createAuditLog } from '../../src/audit/writer.js';
import { issueAccessToken } from '../../src/auth/issue-token.js';
import { localIssuerProfile } from '../../src/auth/issuer-profile.js';
import type { Role } from '../../src/http/principal.js';
import { createRevocationStore } from '../../src/auth/revocation.js';
import { createTokenVerifier } from '../../src/auth/verify-token.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createBreakers, type Breakers } from '../../src/lib/circuit-breaker.js';
import { createMetrics, type Metrics } from '../../src/gateway/metrics/index.js';
import { openRateLimitStore, type RateLimitStore } from '../../src/gateway/rate-limit/index.js';
import { openSearchTokenization } from '../../src/resources/search/open-tokenization.js';
import { openKeyProtection } from '../../src/keys/envelope/index.js';
import { createAlertStoreSink } from '../../src/monitoring/api/store-sink.js';
import { startMonitoring, type Monitoring } from '../../src/monitoring/monitoring.js';
import { createSecurityEvents, type SecurityEvent, type SecurityEvents } from '../../src/lib/security-events.js';
import { openLocalKeyManager, resolveMasterKey, type LocalKeyManager } from '../../src/keys/local/index.js';
import type { Sealer } from '../../src/keys/ports.js';
import { createResourceDefinitions } from '../../src/resources/index.js';
import type { Database } from '../../src/storage/ports.js';
import { openTestDatabase } from './database.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly db: Database;
  /** What the database was opened with: a SQLite file path or a postgres:// URL. */
  readonly databaseUrl: string;
  readonly keys: LocalKeyManager;
  readonly audit: AuditLog & { readonly writerId: string };
  readonly dir: string;
  readonly revocation: ReturnType<typeof createRevocationStore>;
  /** The app's security-event stream, and every event it has emitted so far. */
  readonly events: SecurityEvents;
  readonly securityEvents: readonly SecurityEvent[];
  readonly breakers: Breakers;
  /** The app's own metrics registry (docs/metrics.md). */
  readonly metrics: Metrics;
  /** Security monitoring as the server wires it; `await monitoring.detector.settled()` before looking for alerts. */
  readonly monitoring: Monitoring;
  /** Signs an access token as the server would (the CLI's path). */
  token(role: Role, options?: TokenOptions): Promise<string>;
}

/** What a test token says besides its role; absent fields as the authorization server would issue them. */
export interface TokenOptions {
  readonly sub?: string;
  readonly patient?: string;
  readonly ttlSeconds?: number;
  /** SMART scopes; default `user/*.cruds`, so the role matrix is the binding limit (docs/access-control.md). */
  readonly scopes?: readonly string[];
  /** RFC 8176 `amr`; default a password plus TOTP for the roles that must log in with MFA (admin, clinician, nurse, auditor), a password for the others. */
  readonly amr?: readonly string[];
  /** Default `test-client`; a device's own client id (equal to `sub`) makes it a client_credentials token. */
  readonly clientId?: string;
}

/** Roles the login requires a second factor of by default (issue 3 item 5): their tokens show it. */
const mfaRoles: readonly Role[] = ['admin', 'clinician', 'nurse', 'auditor'];

/** What a test's own sealer may be built from: the app's database, config and breakers. */
export interface SealerContext {
  readonly db: Database;
  readonly config: Config;
  readonly breakers: Breakers;
}

export interface BuildOptions {
  readonly database?: 'sqlite' | 'postgres';
  readonly env?: Record<string, string>;
  /** Replaces the envelope sealer the server would use (docs/key-management.md), or builds one on the app's database. */
  readonly sealer?: Sealer | ((context: SealerContext) => Sealer | Promise<Sealer>);
  /** Wraps the audit log, e.g. to make it fail. */
  readonly wrapAudit?: (audit: AuditLog) => AuditLog;
  /** Monitoring options: the SSE heartbeat, a clock. */
  readonly monitoring?: { readonly heartbeatMs?: number; readonly clock?: () => number };
  /** Rate-limit buckets: a store of the test's own (a fake clock), or `{ redisPrefix }` to open them in Redis as the server does from CADUCEUS_REDIS_URL. */
  readonly rateLimitStore?: RateLimitStore | { readonly redisPrefix: string };
}

/** Builds the real app on a real database, keyring and audit log; everything is closed after the test. */
export async function build(t: TestContext, options: BuildOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-test-'));
  const config = loadConfig({ CADUCEUS_DATA_DIR: dir, CADUCEUS_LOG_LEVEL: 'silent', ...options.env }, dir);
  const logger = pino({ level: 'silent' });
  const events = createSecurityEvents(logger);
  const securityEvents: SecurityEvent[] = [];
  events.subscribe((event) => {
    securityEvents.push(event);
  });
  const breakers = createBreakers(events);
  const metrics = createMetrics({ breakers });
  // As in the server: PostgreSQL runs behind the `postgres` breaker (SQLite has none).
  const testDatabase = await openTestDatabase(options.database ?? 'sqlite', {
    circuit: { breakers, timeoutMs: config.breakers.databaseTimeoutMs, resetMs: config.breakers.resetMs },
  });
  const { db } = testDatabase;
  const keys = await openLocalKeyManager({ path: config.keys.keyringPath });
  const audit = await createAuditLog({
    store: db.audit,
    keys,
    checkpointIntervalMs: config.audit.checkpointIntervalMs,
  });
  const revocation = createRevocationStore(db.kv, { retentionMs: 86_400_000 });
  const verifier = createTokenVerifier({
    profiles: [localIssuerProfile(config.auth.issuer, keys)],
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    revocation,
  });
  // As in the server: every body sealed under a data key wrapped by the configured key wrapper (a generated development master key here).
  const protection =
    options.sealer === undefined
      ? await openKeyProtection(config, {
          masterKey: (
            await resolveMasterKey({ ...config.keys.masterKey, production: config.env === 'production' }, logger)
          ).key,
          dataKeys: db.dataKeys,
          breakers,
          logger,
        })
      : undefined;
  const sealer =
    typeof options.sealer === 'function'
      ? await options.sealer({ db, config, breakers })
      : (options.sealer ?? protection?.sealer);
  if (sealer === undefined) throw new Error('no sealer');
  // As in the server: blind index tokens when encryption is on (docs/blind-indexes.md).
  const blindSearch = await openSearchTokenization({
    wrapper: protection?.wrapper ?? null,
    store: db.indexKeys,
    logger,
  });
  t.after(() => {
    blindSearch.close();
  });
  const monitoring = await startMonitoring(config, {
    logger,
    events,
    breakers,
    sinks: [createAlertStoreSink(db.alerts)],
    ...options.monitoring,
  });
  const rateLimits =
    options.rateLimitStore !== undefined && 'redisPrefix' in options.rateLimitStore
      ? await openRateLimitStore(config, { logger, breakers, prefix: options.rateLimitStore.redisPrefix })
      : null;
  const rateLimitStore =
    rateLimits?.store ??
    (options.rateLimitStore !== undefined && 'take' in options.rateLimitStore ? options.rateLimitStore : undefined);
  const app = await buildApp(config, {
    db,
    audit: monitoring.observe(options.wrapAudit ? options.wrapAudit(audit) : audit),
    verifier,
    sealer,
    logger,
    events,
    breakers,
    metrics,
    definitions: createResourceDefinitions(blindSearch.tokenizer),
    alertStream: monitoring.stream,
    ...(rateLimitStore !== undefined && { rateLimitStore }),
  });
  t.after(async () => {
    await app.close();
    await rateLimits?.close();
    breakers.shutdown();
    await audit.close().catch(() => undefined);
    await monitoring.close();
    await protection?.close();
    await keys.close();
    await testDatabase.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    app,
    config,
    db,
    databaseUrl: testDatabase.url,
    keys,
    audit,
    dir,
    revocation,
    events,
    securityEvents,
    breakers,
    metrics,
    monitoring,
    async token(role, tokenOptions = {}) {
      const issued = await issueAccessToken(keys, {
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        subject: tokenOptions.sub ?? `test-${role}`,
        clientId: tokenOptions.clientId ?? 'test-client',
        role,
        scopes: tokenOptions.scopes ?? ['user/*.cruds'],
        amr: tokenOptions.amr ?? (mfaRoles.includes(role) ? ['pwd', 'otp'] : ['pwd']),
        ttlSeconds: tokenOptions.ttlSeconds ?? 600,
        ...(tokenOptions.patient !== undefined && { patient: tokenOptions.patient }),
      });
      return issued.token;
    },
  };
}
