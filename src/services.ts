/**
 * The composition root: every service a server process needs, opened in one
 * order as steps of one startup (src/startup.ts), so that they close in the
 * reverse order by construction. The server, the tests' app builders and the
 * CLI (through src/runtime.ts) all open their services here; `overrides`
 * replace single pieces for tests instead of copying the wiring.
 */
import type { Logger } from 'pino';
import type { AppDependencies } from './app.js';
import type { AuditLog } from './audit/event.js';
import { countRefusals, type RefusalCounter } from './audit/refusal-counts.js';
import type { MountedAuthorizationServer } from './auth/oidc/index.js';
import type { RevocationStore } from './auth/revocation.js';
import type { UserServices } from './auth/users/services.js';
import type { Config } from './config/index.js';
import { checkFipsRuntime, enforceFipsPolicy } from './fips/index.js';
import { createLogger } from './gateway/logging.js';
import { createMetrics, instrumentKeyManager, type Metrics } from './gateway/metrics/index.js';
import { openRateLimitStore, type RateLimitStore } from './gateway/rate-limit/index.js';
import { openKeyProtection } from './keys/envelope/index.js';
import type { KeyManager, KeyWrapper, RotatingKeyManager, Sealer } from './keys/ports.js';
import { createBreakers, type Breakers } from './lib/circuit-breaker.js';
import { createSecurityEvents, type SecurityEvents } from './lib/security-events.js';
import { createAlertStoreSink } from './monitoring/api/store-sink.js';
import { startMonitoring, type Monitoring } from './monitoring/monitoring.js';
import { createResourceDefinitions } from './resources/index.js';
import { openSearchTokenization } from './resources/search/open-tokenization.js';
import { openRuntimeSteps, type Runtime } from './runtime.js';
import { openGate } from './gate.js';
import type { ServiceOverrides } from './service-overrides.js';
import { createStartup, openOrDispose, type Startup } from './startup.js';

export type { SealerContext, ServiceOverrides } from './service-overrides.js';

/** Everything one server process has open, and the stack that closes it. */
export interface Services extends Omit<Runtime, 'close' | 'keys'> {
  readonly logger: Logger;
  readonly events: SecurityEvents;
  readonly breakers: Breakers;
  readonly metrics: Metrics;
  /** The signing keys as opened (rotation, the CLI's token issue). */
  readonly signingKeys: RotatingKeyManager;
  /** The signing keys, timed for metrics. */
  readonly keys: KeyManager;
  readonly sealer: Sealer;
  /** Null when bodies are not sealed (CADUCEUS_ENCRYPTION=off, or a test's own sealer). */
  readonly wrapper: KeyWrapper | null;
  /** This process's own audit writer. */
  readonly auditLog: AuditLog & { readonly writerId: string };
  /** The audit log every layer writes to: wrapped (tests) and observed by monitoring. */
  readonly audit: AuditLog;
  readonly refusals: RefusalCounter;
  readonly monitoring: Monitoring;
  readonly revocation: RevocationStore;
  readonly users: UserServices;
  readonly authorizationServer: MountedAuthorizationServer;
  /** What buildApp needs, from the above. */
  readonly appDependencies: AppDependencies;
  /** Runs a further step on the same stack (the server's listeners). */
  readonly startup: Startup;
  /** Closes everything, last opened first. */
  close(): Promise<void>;
}

/** Opens every service of a server process; if any step throws, what was opened is closed and the error rethrown. */
export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const startup = createStartup(overrides);
  return openOrDispose(startup, () => openServices(startup, config, overrides));
}

/** Opens the services as steps of `startup` (whose caller disposes it if this throws). */
export async function openServices(startup: Startup, config: Config, overrides: ServiceOverrides): Promise<Services> {
  const logger = await startup.open(
    'logger',
    () => overrides.logger ?? createLogger(config),
    (opened) => {
      opened.flush();
    },
  );
  // FIPS mode (docs/fips.md): the provider and the self-tests are checked before anything opens.
  await startup.open('fips-runtime', () => {
    if (config.fips) checkFipsRuntime();
  });
  // Breakers and metrics first: the database opens behind the `postgres` breaker.
  const events = createSecurityEvents(logger);
  const breakers = await startup.open(
    'breakers',
    () => createBreakers(events),
    (opened) => {
      opened.shutdown();
    },
  );
  const metrics = createMetrics({ breakers });
  const runtime = await openRuntimeSteps(startup, config, logger, { breakers });
  // FIPS mode refuses an unapproved algorithm in the configuration or the keyring, and logs those in use.
  await startup.open('fips-policy', () => enforceFipsPolicy(config, runtime.keys, logger));
  const { sealer, wrapper, definitions } = await openSealing(startup, config, overrides, { runtime, breakers, logger });
  const keys = instrumentKeyManager(runtime.keys, metrics);
  const auditLog = await startup.open(
    'audit-log',
    () => runtime.openAuditLog({ keys }),
    (opened) => opened.close(),
  );
  // Requests refused before authentication: counted per source and minute into the audit log (docs/audit.md).
  const refusals = await startup.open(
    'refusal-counts',
    () =>
      countRefusals({
        events,
        audit: auditLog,
        windowMs: 60_000,
        onError: () => {
          logger.error({ event: 'audit.refusal_counts_failed' }, 'refusal counts could not be audited');
        },
      }),
    (opened) => opened.close(),
  );
  // Security monitoring hears durable audit events and security events; every alert is also stored (docs/monitoring.md).
  const monitoring = await startup.open(
    'monitoring',
    () =>
      startMonitoring(config, {
        logger,
        events,
        breakers,
        sinks: [createAlertStoreSink(runtime.db.alerts)],
        ...overrides.monitoring,
      }),
    (opened) => opened.close(),
  );
  const audit = monitoring.observe(overrides.wrapAudit?.(auditLog) ?? auditLog);
  const rateLimitStore = await openRateLimits(startup, config, overrides, { logger, breakers });
  const common = {
    ...runtime,
    logger,
    events,
    breakers,
    metrics,
    keys,
    sealer,
    wrapper,
    audit,
    monitoring,
    definitions,
  };
  const gate = await openGate(startup, config, overrides, common);
  return {
    ...common,
    ...gate,
    signingKeys: runtime.keys,
    auditLog,
    refusals,
    startup,
    appDependencies: {
      db: runtime.db,
      audit,
      verifier: gate.verifier,
      authorizationServer: gate.authorizationServer,
      // The login and MFA pages check passwords with the same directory (docs/login-and-mfa.md).
      ...(overrides.accounts === undefined && { users: gate.users.directory }),
      sealer,
      logger,
      events,
      breakers,
      metrics,
      definitions,
      alertStream: monitoring.stream,
      ...(rateLimitStore !== undefined && { rateLimitStore }),
    },
    close: () => startup.stack.disposeAsync(),
  };
}

/** Every stored body is sealed (docs/key-management.md); CADUCEUS_KEY_MANAGER picks where the key-encryption keys live. */
async function openSealing(
  startup: Startup,
  config: Config,
  overrides: ServiceOverrides,
  deps: { readonly runtime: Omit<Runtime, 'close'>; readonly breakers: Breakers; readonly logger: Logger },
): Promise<{ sealer: Sealer; wrapper: KeyWrapper | null; definitions: ReturnType<typeof createResourceDefinitions> }> {
  const { runtime, breakers, logger } = deps;
  const own = overrides.sealer;
  const protection = await startup.open(
    'key-protection',
    async () =>
      own === undefined
        ? openKeyProtection(config, { masterKey: runtime.masterKey, dataKeys: runtime.db.dataKeys, breakers, logger })
        : { sealer: await own({ db: runtime.db, config, breakers }), wrapper: null, close: () => Promise.resolve() },
    (opened) => opened.close(),
  );
  // Search tokens are keyed blind indexes whenever bodies are sealed (docs/blind-indexes.md).
  const search = await startup.open(
    'search-tokenization',
    () =>
      openSearchTokenization({
        wrapper: protection.wrapper,
        store: runtime.db.indexKeys,
        logger,
        refreshMs: config.keys.dataKeyRefreshMs,
      }),
    (opened) => {
      opened.close();
    },
  );
  return {
    sealer: protection.sealer,
    wrapper: protection.wrapper,
    definitions: createResourceDefinitions(search.tokenizer),
  };
}

/** Rate-limit buckets in Redis when CADUCEUS_REDIS_URL is set, behind the `redis` breaker (docs/rate-limits.md). */
async function openRateLimits(
  startup: Startup,
  config: Config,
  overrides: ServiceOverrides,
  deps: { readonly logger: Logger; readonly breakers: Breakers },
): Promise<RateLimitStore | undefined> {
  const opened = await startup.open(
    'rate-limits',
    () =>
      overrides.rateLimitStore !== undefined
        ? null
        : openRateLimitStore(config, {
            ...deps,
            ...(overrides.rateLimitRedisPrefix !== undefined && { prefix: overrides.rateLimitRedisPrefix }),
          }),
    (store) => store?.close(),
  );
  return overrides.rateLimitStore ?? opened?.store;
}
