import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { registerAuditEventRoutes } from './audit/api/routes.js';
import type { AuditLog } from './audit/event.js';
import { requestAuditPlugin } from './audit/request-audit-plugin.js';
import { accessPlugin } from './access/access-plugin.js';
import { authenticatePlugin, type BearerVerifier } from './auth/authenticate-plugin.js';
import { registerAuthorizationServer, type MountedAuthorizationServer } from './auth/oidc/index.js';
import { registerLoginPages } from './auth/login/index.js';
import type { UserDirectory } from './storage/user-ports.js';
import { registerCareTeamRoutes } from './access/care-team/routes.js';
import type { Config } from './config/index.js';
import { assignRequestId, createClientErrorHandler } from './edge/client-error.js';
import { corsPlugin } from './edge/cors.js';
import { drainPlugin } from './edge/drain.js';
import { edgePlugin } from './edge/edge-plugin.js';
import { bodySignaturesPlugin, edgeFilterPlugin } from './edge/filter-plugin.js';
import { connectionClosePlugin } from './edge/connection-close.js';
import { createFrameworkErrorHandler } from './edge/framework-errors.js';
import { clientCertificatePlugin } from './edge/mtls/client-certificate.js';
import { trustProxyOption } from './edge/trusted-proxies.js';
import { errorHandlerPlugin } from './edge/error-handler.js';
import { breakerGatePlugin } from './gateway/breaker-gate.js';
import type { Breakers } from './lib/circuit-breaker.js';
import {
  addressRateLimitPlugin,
  createRateLimiter,
  principalRateLimitPlugin,
  type RateLimitStore,
} from './gateway/rate-limit/index.js';
import { pipelinePlugin } from './http/pipeline-plugin.js';
import { PhiSafeLogController, sharedRequestLogger } from './gateway/logging.js';
import { instrumentAuditLog, instrumentSealer, metricsPlugin, type Metrics } from './gateway/metrics/index.js';
import { integrityEventsPlugin } from './keys/envelope/integrity-events.js';
import type { Sealer } from './keys/ports.js';
import { registerAlertRoutes } from './monitoring/api/routes.js';
import { registerAlertStreamRoute } from './monitoring/alert-stream-route.js';
import { registerHealthRoutes } from './monitoring/health.js';
import type { SecurityEvents } from './lib/security-events.js';
import type { AlertStream } from './monitoring/sinks/stream.js';
import { createResourceEngine } from './resources/engine/engine.js';
import { registerResourceRoutes } from './resources/engine/routes.js';
import type { ResourceDefinition } from './resources/engine/types.js';
import type { Database } from './storage/ports.js';

/** Everything outside the process, passed in (STYLE.md #1: no module-level state). */
export interface AppDependencies {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly verifier: BearerVerifier;
  readonly sealer: Sealer;
  readonly logger: Logger;
  /** The security-event stream monitoring reads (refusals, rate limits, breakers). */
  readonly events: SecurityEvents;
  /** Circuit breakers around the asynchronous dependencies (created on `events`). */
  readonly breakers: Breakers;
  /** This app's Prometheus metrics, on a registry of its own (docs/metrics.md). */
  readonly metrics: Metrics;
  readonly definitions: readonly ResourceDefinition[];
  /** The live alert stream `GET /api/v1/alerts/stream` serves (src/monitoring/monitoring.ts); absent, the route is not registered. */
  readonly alertStream?: AlertStream;
  /** Where rate-limit buckets live: the Redis store server.ts opens with CADUCEUS_REDIS_URL; absent, in this process (docs/rate-limits.md). */
  readonly rateLimitStore?: RateLimitStore;
  /** The OAuth 2.0 / OpenID Connect authorization server (docs/oauth.md); absent, its routes are not registered. */
  readonly authorizationServer?: MountedAuthorizationServer;
  /** The user directory the login pages check passwords with (docs/login-and-mfa.md); with `authorizationServer`, the pages are registered. */
  readonly users?: UserDirectory;
}

/** TLS material for the HTTPS listener; absent in `inject` tests. */
export interface AppOptions {
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
}

/**
 * Builds the server with the layers of DESIGN.md's request path, in order.
 * No I/O happens here beyond what the dependencies already opened.
 */
export async function buildApp(
  config: Config,
  deps: AppDependencies,
  options: AppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new PhiSafeLogController(),
    childLoggerFactory: sharedRequestLogger,
    genReqId: assignRequestId,
    requestIdHeader: false,
    bodyLimit: config.limits.bodyBytes,
    requestTimeout: config.limits.requestTimeoutMs,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // Fastify's Ajv strips properties a schema does not allow; a parameter we do not know must answer 400 instead.
    ajv: { customOptions: { removeAdditional: false } },
    // X-Forwarded-For only from CADUCEUS_TRUSTED_PROXIES, right to left: request.ip is the client everywhere (docs/edge.md).
    trustProxy: trustProxyOption(config.edge.trustedProxies),
    frameworkErrors: createFrameworkErrorHandler(deps.events),
    clientErrorHandler: createClientErrorHandler((code, sourceIp, rule) => {
      // Refusals before routing are reported per source, without the request (DESIGN.md invariants).
      deps.events.emit({ kind: 'edge.refused', sourceIp: sourceIp ?? null, details: { rule, code } });
    }),
    ...(options.https && {
      // TLS 1.3 only (seed: "Enforce TLS 1.3 for all API communications").
      https: {
        key: options.https.key,
        cert: options.https.cert,
        minVersion: 'TLSv1.3' as const,
        maxHeaderSize: config.limits.headerBytes,
        // Node checks header and request timeouts on this interval (default 30 s): check often enough that slow clients get their 408 on time.
        connectionsCheckingInterval: Math.max(
          100,
          Math.floor(Math.min(config.limits.headersTimeoutMs, config.limits.requestTimeoutMs) / 2),
        ),
      },
    }),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = config.limits.headersTimeoutMs;

  // The request path of DESIGN.md: each layer's plugin adds its steps to the one pipeline, in the order
  // src/http/pipeline.ts declares; ready() refuses a step registered out of that order, or a missing one.
  await app.register(pipelinePlugin);
  // 1 edge: request id and security headers, filters, CORS by exact origin allow-list (docs/edge.md, docs/access-control.md).
  await app.register(edgePlugin);
  await app.register(drainPlugin);
  await app.register(edgeFilterPlugin, { config: config.edge, events: deps.events });
  await app.register(corsPlugin, { allowedOrigins: config.cors.allowedOrigins });
  // 2 and 4: token buckets per client address before the bearer gate, per principal after it (docs/rate-limits.md).
  const rateLimiter = createRateLimiter({
    config: config.rateLimit,
    store: deps.rateLimitStore,
    events: deps.events,
    onDecision: (policy, allowed) => {
      deps.metrics.countRateLimitDecision(policy, allowed);
    },
  });
  await app.register(addressRateLimitPlugin, { limiter: rateLimiter });
  // While a request-path breaker (PostgreSQL) is open: 503 + Retry-After at once (docs/circuit-breakers.md).
  await app.register(breakerGatePlugin, { breakers: deps.breakers });
  // 3: the client certificate (mutual-TLS listener, or RFC 9440 Client-Cert from a trusted proxy) for RFC 8705 bound tokens (docs/tls.md), then the token.
  await app.register(clientCertificatePlugin, { trustedProxies: config.edge.trustedProxies, events: deps.events });
  await app.register(authenticatePlugin, { verifier: deps.verifier });
  await app.register(principalRateLimitPlugin, { limiter: rateLimiter });
  // 5 access, from route and token alone; 6 validation: signatures in the parsed body, then the route schemas.
  await app.register(accessPlugin, { careTeam: deps.db.careTeam });
  await app.register(bodySignaturesPlugin, { config: config.edge, events: deps.events });
  // 7: a sealed record that fails to open raises `integrity.error` with its request id (docs/key-management.md).
  await app.register(integrityEventsPlugin, { events: deps.events });
  // 8 audit; 9 response: connection close after an early answer, the error envelope, metrics.
  await app.register(requestAuditPlugin, { audit: instrumentAuditLog(deps.audit, deps.metrics) });
  await app.register(connectionClosePlugin);
  await app.register(errorHandlerPlugin);
  await app.register(metricsPlugin, { metrics: deps.metrics });

  registerHealthRoutes(app, () => deps.db.ping());
  // The provider's endpoints and the SMART configuration of each API base (docs/oauth.md).
  if (deps.authorizationServer !== undefined)
    await registerAuthorizationServer(app, deps.authorizationServer, { apiBases: ['/api/v1'] });
  // The login and MFA pages the provider sends browsers to (/interaction/:uid, docs/login-and-mfa.md).
  if (deps.authorizationServer !== undefined && deps.users !== undefined) {
    await registerLoginPages(app, {
      authorizationServer: deps.authorizationServer,
      users: deps.users,
      factors: deps.db.mfaFactors,
      kv: deps.db.kv,
      sealer: deps.sealer,
      audit: instrumentAuditLog(deps.audit, deps.metrics),
      events: deps.events,
      config: config.login,
    });
  }
  const engine = createResourceEngine({
    store: deps.db.resources,
    sealer: instrumentSealer(deps.sealer, deps.metrics),
  });
  for (const definition of deps.definitions) {
    registerResourceRoutes(app, {
      engine,
      definition,
      defaultPageSize: config.limits.defaultPageSize,
      maxPageSize: config.limits.maxPageSize,
    });
  }
  registerAuditEventRoutes(app, {
    search: deps.db.audit,
    defaultPageSize: config.limits.defaultPageSize,
    maxPageSize: config.limits.maxPageSize,
    exportMaxRecords: config.audit.exportMaxRecords,
  });
  registerAlertRoutes(app, {
    alerts: deps.db.alerts,
    defaultPageSize: config.limits.defaultPageSize,
    maxPageSize: config.limits.maxPageSize,
  });
  registerCareTeamRoutes(app, {
    careTeam: deps.db.careTeam,
    resources: deps.db.resources,
    defaultPageSize: config.limits.defaultPageSize,
    maxPageSize: config.limits.maxPageSize,
  });
  if (deps.alertStream !== undefined) registerAlertStreamRoute(app, deps.alertStream);
  return app;
}
