import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp, type AppDependencies } from '../../src/app.js';
import type { AuditLog } from '../../src/audit/event.js';
import { issueAccessToken } from '../../src/auth/issue-token.js';
import type { Role } from '../../src/http/principal.js';
import type { RevocationStore } from '../../src/auth/revocation.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { Breakers } from '../../src/lib/circuit-breaker.js';
import type { Metrics } from '../../src/gateway/metrics/index.js';
import type { RateLimitStore } from '../../src/gateway/rate-limit/index.js';
import type { Monitoring } from '../../src/monitoring/monitoring.js';
import type { SecurityEvent, SecurityEvents } from '../../src/lib/security-events.js';
import type { RotatingKeyManager, Sealer } from '../../src/keys/ports.js';
import { createServices, type SealerContext, type ServiceOverrides } from '../../src/services.js';
import type { Database } from '../../src/storage/ports.js';
import { dropPostgresSchema, testPostgresBaseUrl, uniqueSchemaName, withSchema } from './database.js';

export type { SealerContext } from '../../src/services.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly db: Database;
  /** What the database was opened with: a SQLite file path or a postgres:// URL. */
  readonly databaseUrl: string;
  readonly keys: RotatingKeyManager;
  readonly audit: AuditLog & { readonly writerId: string };
  readonly dir: string;
  readonly revocation: RevocationStore;
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
  /** Closes everything now, in reverse order of opening (it also runs after the test; a second call does nothing). */
  close(): Promise<void>;
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

/** Roles the login requires a second factor of by default (CADUCEUS_MFA_ROLES): their tokens show it. */
const mfaRoles: readonly Role[] = ['admin', 'clinician', 'nurse', 'auditor'];

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
  /** Changes what the app is built from, e.g. leaves out the login pages a test mounts itself. */
  readonly dependencies?: (deps: AppDependencies) => AppDependencies;
  /** Further pieces to replace (src/services.ts). */
  readonly overrides?: ServiceOverrides;
}

/** Builds the server's own app (src/services.ts) on a fresh database and data folder; everything is closed after the test. */
export async function build(t: TestContext, options: BuildOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-test-'));
  const schema = options.database === 'postgres' ? uniqueSchemaName() : null;
  const databaseUrl = schema === null ? path.join(dir, 'caduceus.db') : withSchema(testPostgresBaseUrl(), schema);
  const config = loadConfig(
    { CADUCEUS_DATA_DIR: dir, CADUCEUS_LOG_LEVEL: 'silent', CADUCEUS_DATABASE_URL: databaseUrl, ...options.env },
    dir,
  );
  const removeAll = async (): Promise<void> => {
    if (schema !== null) await dropPostgresSchema(schema);
    await rm(dir, { recursive: true, force: true });
  };
  const services = await createServices(config, {
    logger: pino({ level: 'silent' }),
    ...serviceOverrides(options),
    ...options.overrides,
  }).catch(async (error: unknown) => {
    await removeAll();
    throw error;
  });
  t.after(async () => {
    await services.close();
    await removeAll();
  });
  const { db, events, signingKeys: keys } = services;
  const securityEvents: SecurityEvent[] = [];
  events.subscribe((event) => {
    securityEvents.push(event);
  });
  const deps = services.appDependencies;
  const app = await services.startup.open(
    'app',
    () => buildApp(config, options.dependencies?.(deps) ?? deps),
    (built) => built.close(),
  );
  return {
    app,
    config,
    db,
    databaseUrl,
    keys,
    audit: services.auditLog,
    dir,
    revocation: services.revocation,
    events,
    securityEvents,
    breakers: services.breakers,
    metrics: services.metrics,
    monitoring: services.monitoring,
    close: () => services.close(),
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

/** The build options that are service overrides; rate-limit buckets in Redis get a prefix of their own. */
function serviceOverrides(options: BuildOptions): ServiceOverrides {
  const { sealer, rateLimitStore } = options;
  return {
    ...(sealer !== undefined && { sealer: typeof sealer === 'function' ? sealer : () => sealer }),
    ...(options.wrapAudit !== undefined && { wrapAudit: options.wrapAudit }),
    ...(options.monitoring !== undefined && { monitoring: options.monitoring }),
    ...(rateLimitStore !== undefined && 'take' in rateLimitStore
      ? { rateLimitStore }
      : {
          rateLimitRedisPrefix: rateLimitStore?.redisPrefix ?? `caduceus-test-${randomBytes(6).toString('hex')}:`,
        }),
  };
}
