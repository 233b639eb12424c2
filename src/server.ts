import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { countRefusals } from './audit/refusal-counts.js';
import { createExternalIssuerProfiles } from './auth/external/index.js';
import { checkFipsRuntime, enforceFipsPolicy } from './fips/index.js';
import { localIssuerProfile } from './auth/issuer-profile.js';
import {
  accountDirectoryFromUsers,
  clientJwksFetch,
  createAuthorizationServer,
  providerSettingsOf,
} from './auth/oidc/index.js';
import { createRevocationStore } from './auth/revocation.js';
import { createUserServices } from './auth/users/services.js';
import { securityHeaders } from './edge/security-headers.js';
import { createTokenVerifier } from './auth/verify-token.js';
import type { Config } from './config/index.js';
import { loadDeviceCa, startMtlsListener, type MtlsListener } from './edge/mtls/listener.js';
import { loadTlsMaterial } from './edge/tls.js';
import { createTlsReloader, tlsServerOf } from './edge/tls-reload.js';
import { createLogger } from './gateway/logging.js';
import { openSearchTokenization } from './resources/search/open-tokenization.js';
import { openKeyProtection } from './keys/envelope/index.js';
import { scheduleConfiguredRotation } from './rotation/index.js';
import { createBreakers } from './lib/circuit-breaker.js';
import { createMetrics, instrumentKeyManager } from './gateway/metrics/index.js';
import { openRateLimitStore } from './gateway/rate-limit/index.js';
import { createAlertStoreSink } from './monitoring/api/store-sink.js';
import { startMonitoring } from './monitoring/monitoring.js';
import { createSecurityEvents } from './lib/security-events.js';
import { createResourceDefinitions } from './resources/index.js';
import { openRuntime } from './runtime.js';

/** Revocations are kept one day: longer than any access token this server accepts lives. */
const revocationRetentionMs = 86_400_000;

/** A running server and the way to stop it cleanly. */
export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Where the mutual-TLS device listener listens (docs/tls.md); null when CADUCEUS_MTLS_PORT is unset. */
  readonly mtlsUrl: string | null;
  /** Drains in-flight requests, flushes the audit log, closes the database. */
  stop(): Promise<void>;
}

async function announce(
  app: FastifyInstance,
  config: Config,
  logger: Logger,
  url: string,
  generatedCert: string | null,
  empty: boolean,
): Promise<void> {
  logger.info({ event: 'server.listening', address: url }, `Caduceus listening on ${url} (TLS 1.3 only)`);
  if (config.tls.generated) {
    logger.info(
      { event: 'tls.development_certificate', created: generatedCert !== null },
      `development certificate: ${config.tls.certPath} (trust it with curl --cacert)`,
    );
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
  // FIPS mode (docs/fips.md): the provider and the self-tests are checked before anything opens.
  if (config.fips) checkFipsRuntime();
  const tls = await loadTlsMaterial(config);
  const deviceCa = config.mtls === null ? null : await loadDeviceCa(config.mtls);
  // Breakers and metrics first: the database opens behind the `postgres` breaker.
  const events = createSecurityEvents(logger);
  const breakers = createBreakers(events);
  const metrics = createMetrics({ breakers });
  const runtime = await openRuntime(config, logger, { breakers });
  // FIPS mode refuses an unapproved algorithm in the configuration or the keyring, and logs those in use.
  await enforceFipsPolicy(config, runtime.keys, logger).catch(async (error: unknown) => {
    await runtime.close();
    throw error;
  });
  // Every stored body is sealed (docs/key-management.md); CADUCEUS_KEY_MANAGER picks where the key-encryption keys live.
  const protection = await openKeyProtection(config, {
    masterKey: runtime.masterKey,
    dataKeys: runtime.db.dataKeys,
    breakers,
    logger,
  }).catch(async (error: unknown) => {
    await runtime.close();
    throw error;
  });
  // Search tokens are keyed blind indexes whenever bodies are sealed (docs/blind-indexes.md).
  const search = await openSearchTokenization({
    wrapper: protection.wrapper,
    store: runtime.db.indexKeys,
    logger,
    refreshMs: config.keys.dataKeyRefreshMs,
  }).catch(async (error: unknown) => {
    await protection.close();
    await runtime.close();
    throw error;
  });
  const keys = instrumentKeyManager(runtime.keys, metrics);
  const audit = await runtime.openAuditLog({ keys });
  // Requests refused before authentication: counted per source and minute into the audit log (docs/audit.md).
  const refusals = countRefusals({
    events,
    audit,
    windowMs: 60_000,
    onError: () => {
      logger.error({ event: 'audit.refusal_counts_failed' }, 'refusal counts could not be audited');
    },
  });
  // Security monitoring hears durable audit events and security events; every alert is also stored (docs/monitoring.md).
  const monitoring = await startMonitoring(config, {
    logger,
    events,
    breakers,
    sinks: [createAlertStoreSink(runtime.db.alerts)],
  });
  // Rate-limit buckets in Redis when CADUCEUS_REDIS_URL is set, behind the `redis` breaker (docs/rate-limits.md).
  const rateLimits = await openRateLimitStore(config, { logger, breakers });
  const revocation = createRevocationStore(runtime.db.kv, { retentionMs: revocationRetentionMs });
  const verifier = createTokenVerifier({
    // A hospital's own IdPs (docs/external-idp.md): keys from their jwks_uri behind the `jwks` breaker.
    profiles: [
      localIssuerProfile(config.auth.issuer, keys),
      ...createExternalIssuerProfiles(config.auth.externalIssuers, {
        breakers,
        logger,
        resetMs: config.breakers.resetMs,
      }),
    ],
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    revocation,
  });
  const observedAudit = monitoring.observe(audit);
  // The authorization server (docs/oauth.md): its state in this database, its tokens signed by the gate's keys, its accounts from the user directory.
  const users = createUserServices({
    settings: config.users,
    fips: config.fips,
    db: runtime.db,
    fhirBaseUrl: config.auth.audience,
  });
  const authorizationServer = await createAuthorizationServer({
    settings: providerSettingsOf(config),
    state: runtime.db.oidc,
    clients: runtime.db.clients,
    kv: runtime.db.kv,
    sealer: protection.sealer,
    keys,
    accounts: accountDirectoryFromUsers(users.directory),
    revocation,
    verifier,
    audit: observedAudit,
    headers: securityHeaders,
    // Client jwks_uri fetches through the SSRF guard (docs/oauth.md; CADUCEUS_JWKS_FETCH_ALLOW).
    fetch: clientJwksFetch({ allow: config.oauth.jwksFetchAllow }),
  });
  const app = await buildApp(
    config,
    {
      db: runtime.db,
      audit: observedAudit,
      verifier,
      authorizationServer,
      // The login and MFA pages check passwords with the same directory (docs/login-and-mfa.md).
      users: users.directory,
      sealer: protection.sealer,
      logger,
      events,
      breakers,
      metrics,
      definitions: createResourceDefinitions(search.tokenizer),
      alertStream: monitoring.stream,
      ...(rateLimits !== null && { rateLimitStore: rateLimits.store }),
    },
    { https: tls },
  );
  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('127.0.0.1', 'localhost');
  // The device listener serves the same app; it starts after the main one, which owns the app's lifecycle (docs/tls.md).
  const mtls: MtlsListener | null =
    config.mtls === null || deviceCa === null
      ? null
      : await startMtlsListener(
          app,
          { ...config, mtls: config.mtls },
          { key: tls.key, cert: tls.cert, ca: deviceCa, events },
        ).catch(async (error: unknown) => {
          await app.close();
          throw error;
        });
  if (mtls !== null)
    logger.info({ event: 'server.mtls_listening', address: mtls.url }, `device listener (mutual TLS) on ${mtls.url}`);
  // Certificate and key reload on file change and SIGHUP, on every listener (docs/tls.md).
  const reloader = createTlsReloader({
    certPath: config.tls.certPath,
    keyPath: config.tls.keyPath,
    initial: tls,
    logger,
    events,
    production: config.env === 'production',
    targets: [
      { server: tlsServerOf(app.server) },
      ...(mtls === null ? [] : [{ server: mtls.server, contextOptions: mtls.contextOptions }]),
    ],
  });
  // Scheduled key rotation (CADUCEUS_KEY_ROTATION_DAYS; docs/key-management.md "Rotation"): one server of the deployment at a time.
  const rotation = scheduleConfiguredRotation(config, { db: runtime.db, wrapper: protection.wrapper, logger, audit });

  let stopping: Promise<void> | undefined;
  const onSignal = (): void => {
    void stop();
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const signal of signals) process.removeListener(signal, onSignal);
      logger.info({ event: 'server.stopping' }, 'draining in-flight requests');
      reloader.close();
      // Requests still running after the grace period lose their connection; the audit log is flushed regardless.
      const force = setTimeout(() => {
        app.server.closeAllConnections();
        mtls?.server.closeAllConnections();
      }, config.shutdownGraceMs);
      force.unref();
      await Promise.all([app.close(), mtls?.close()]);
      clearTimeout(force);
      await rotation?.close();
      await refusals.close();
      await audit.close();
      await monitoring.close();
      await rateLimits?.close();
      await users.threads.close();
      search.close();
      await protection.close();
      await runtime.close();
      breakers.shutdown();
      logger.info({ event: 'server.stopped' }, 'stopped');
      logger.flush();
    })();
    return stopping;
  };
  // Before the listening line: a supervisor may send SIGTERM as soon as it sees it, and must get a drain, not a kill.
  for (const signal of signals) process.once(signal, onSignal);
  const empty = (await runtime.db.resources.search({ type: 'Patient', clauses: [], limit: 1 })).length === 0;
  await announce(app, config, logger, url, tls.generatedPath, empty);
  return { app, url, mtlsUrl: mtls?.url ?? null, stop };
}
