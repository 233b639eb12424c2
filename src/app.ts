import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/event.js';
import { requestAuditPlugin } from './audit/request-audit-plugin.js';
import { accessPlugin } from './auth/access-plugin.js';
import { authenticatePlugin, type BearerVerifier } from './auth/authenticate-plugin.js';
import type { Config } from './config/index.js';
import { assignRequestId, createClientErrorHandler } from './edge/client-error.js';
import { edgePlugin } from './edge/edge-plugin.js';
import { errorHandlerPlugin } from './errors/error-handler.js';
import type { Breakers } from './gateway/circuit-breaker.js';
import { PhiSafeLogController, sharedRequestLogger } from './gateway/logging.js';
import type { Sealer } from './keys/ports.js';
import { registerHealthRoutes } from './monitoring/health.js';
import type { SecurityEvents } from './monitoring/security-events.js';
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
  readonly definitions: readonly ResourceDefinition[];
}

/** TLS material for the HTTPS listener; absent in `inject` tests. */
export interface AppOptions {
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
}

/**
 * Builds the server with the layers of DESIGN.md's request path, in order.
 * No I/O happens here beyond what the dependencies already opened.
 */
export async function buildApp(config: Config, deps: AppDependencies, options: AppOptions = {}): Promise<FastifyInstance> {
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
    clientErrorHandler: createClientErrorHandler((code, sourceIp) => {
      // Refusals before routing are reported per source, without the request (DESIGN.md invariants).
      deps.events.emit({ kind: 'edge.refused', sourceIp: sourceIp ?? null, details: { code } });
    }),
    ...(options.https && {
      // TLS 1.3 only (seed: "Enforce TLS 1.3 for all API communications").
      https: {
        key: options.https.key,
        cert: options.https.cert,
        minVersion: 'TLSv1.3' as const,
        maxHeaderSize: config.limits.headerBytes,
        // Node checks header and request timeouts on this interval (default 30 s): check often enough that slow clients get their 408 on time.
        connectionsCheckingInterval: Math.max(100, Math.floor(Math.min(config.limits.headersTimeoutMs, config.limits.requestTimeoutMs) / 2)),
      },
    }),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = config.limits.headersTimeoutMs;

  // 1 edge · 3 authentication · 6 access · 7 audit · 8 errors (gateway and validation plug in between).
  await app.register(edgePlugin);
  await app.register(authenticatePlugin, { verifier: deps.verifier });
  await app.register(accessPlugin);
  await app.register(requestAuditPlugin, { audit: deps.audit });
  await app.register(errorHandlerPlugin);

  registerHealthRoutes(app, () => deps.db.ping());
  const engine = createResourceEngine({ store: deps.db.resources, sealer: deps.sealer });
  for (const definition of deps.definitions) {
    registerResourceRoutes(app, { engine, definition, defaultPageSize: config.limits.defaultPageSize, maxPageSize: config.limits.maxPageSize });
  }
  return app;
}
