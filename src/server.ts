import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { countRefusals } from './audit/refusal-counts.js';
import { localIssuerProfile } from './auth/issuer-profile.js';
import { createRevocationStore } from './auth/revocation.js';
import { createTokenVerifier } from './auth/verify-token.js';
import type { Config } from './config/index.js';
import { loadTlsMaterial } from './edge/tls.js';
import { createLogger } from './gateway/logging.js';
import { openKeyProtection } from './keys/envelope/index.js';
import { createBreakers } from './gateway/circuit-breaker.js';
import { createMetrics, instrumentKeyManager } from './gateway/metrics/index.js';
import { openRateLimitStore } from './gateway/rate-limit/index.js';
import { createAlertStoreSink } from './monitoring/api/store-sink.js';
import { startMonitoring } from './monitoring/monitoring.js';
import { createSecurityEvents } from './monitoring/security-events.js';
import { createResourceDefinitions } from './resources/index.js';
import { openRuntime } from './runtime.js';

/** Revocations are kept one day: longer than any access token this server accepts lives. */
const revocationRetentionMs = 86_400_000;

/** A running server and the way to stop it cleanly. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Drains in-flight requests, flushes the audit log, closes the database. */
  stop(): Promise<void>;
}

async function announce(app: FastifyInstance, config: Config, logger: Logger, url: string, generatedCert: string | null, empty: boolean): Promise<void> {
  logger.info({ event: 'server.listening', address: url }, `Caduceus listening on ${url} (TLS 1.3 only)`);
  if (config.tls.generated) {
    logger.info({ event: 'tls.development_certificate', created: generatedCert !== null }, `development certificate: ${config.tls.certPath} (trust it with curl --cacert)`);
  }
  if (empty) {
    logger.info(
      { event: 'server.first_request_hint' },
      `empty database. First authenticated request: TOKEN=$(npm run --silent caduceus -- token issue --role clinician) && curl --cacert ${config.tls.certPath} -H "Authorization: Bearer $TOKEN" ${url}/api/v1/patients`,
    );
  }
  await app.ready();
  // Start-up lines must be seen at once; request lines are buffered.
  logger.flush();
}

const signals = ['SIGTERM', 'SIGINT'] as const;

/** Starts the HTTPS server with everything DESIGN.md's request path needs. */
export async function startServer(config: Config): Promise<RunningServer> {
  const logger = createLogger(config);
  const tls = await loadTlsMaterial(config);
  // Breakers and metrics first: the database opens behind the `postgres` breaker.
  const events = createSecurityEvents(logger);
  const breakers = createBreakers(events);
  const metrics = createMetrics({ breakers });
  const runtime = await openRuntime(config, logger, { breakers });
  // Every stored body is sealed (docs/key-management.md); CADUCEUS_KEY_MANAGER picks where the key-encryption keys live.
  const protection = await openKeyProtection(config, { masterKey: runtime.masterKey, dataKeys: runtime.db.dataKeys, breakers, logger })
    .catch(async (error: unknown) => { await runtime.close(); throw error; });
  const keys = instrumentKeyManager(runtime.keys, metrics);
  const audit = await runtime.openAuditLog({ keys });
  // Requests refused before authentication: counted per source and minute into the audit log (docs/audit.md).
  const refusals = countRefusals({
    events, audit, windowMs: 60_000,
    onError: () => { logger.error({ event: 'audit.refusal_counts_failed' }, 'refusal counts could not be audited'); },
  });
  // Security monitoring hears durable audit events and security events; every alert is also stored (docs/monitoring.md).
  const monitoring = await startMonitoring(config, { logger, events, breakers, sinks: [createAlertStoreSink(runtime.db.alerts)] });
  // Rate-limit buckets in Redis when CADUCEUS_REDIS_URL is set, behind the `redis` breaker (docs/rate-limits.md).
  const rateLimits = await openRateLimitStore(config, { logger, breakers });
  const verifier = createTokenVerifier({
    profiles: [localIssuerProfile(config.auth.issuer, keys)],
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    revocation: createRevocationStore(runtime.db.kv, { retentionMs: revocationRetentionMs }),
  });
  const app = await buildApp(config, {
    db: runtime.db,
    audit: monitoring.observe(audit),
    verifier,
    sealer: protection.sealer,
    logger,
    events,
    breakers,
    metrics,
    definitions: createResourceDefinitions(),
    alertStream: monitoring.stream,
    ...(rateLimits !== null && { rateLimitStore: rateLimits.store }),
  }, { https: tls });
  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('127.0.0.1', 'localhost');
  const empty = (await runtime.db.resources.search({ type: 'Patient', clauses: [], limit: 1 })).length === 0;
  await announce(app, config, logger, url, tls.generatedPath, empty);

  let stopping: Promise<void> | undefined;
  const onSignal = (): void => { void stop(); };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const signal of signals) process.removeListener(signal, onSignal);
      logger.info({ event: 'server.stopping' }, 'draining in-flight requests');
      // Requests still running after the grace period lose their connection; the audit log is flushed regardless.
      const force = setTimeout(() => { app.server.closeAllConnections(); }, config.shutdownGraceMs);
      force.unref();
      await app.close();
      clearTimeout(force);
      await refusals.close();
      await audit.close();
      await monitoring.close();
      await rateLimits?.close();
      await protection.close();
      await runtime.close();
      breakers.shutdown();
      logger.info({ event: 'server.stopped' }, 'stopped');
      logger.flush();
    })();
    return stopping;
  };
  for (const signal of signals) process.once(signal, onSignal);
  return { app, url, stop };
}
