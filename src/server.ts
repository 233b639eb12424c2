import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config/index.js';
import { loadDeviceCa, startMtlsListener, type MtlsListener } from './edge/mtls/listener.js';
import { listenFailure } from './edge/listen-error.js';
import { loadTlsMaterial, type TlsMaterial } from './edge/tls.js';
import { createTlsReloader, tlsServerOf } from './edge/tls-reload.js';
import { applyTicketKeys } from './edge/ticket-keys.js';
import { scheduleConfiguredRotation } from './rotation/index.js';
import { openServices, type ServiceOverrides, type Services } from './services.js';
import { createStartup, openOrDispose } from './startup.js';

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

/** Closes a listener: idle connections at once, the rest after the grace period (the audit log is flushed regardless). */
async function closeWithGrace(
  server: { closeAllConnections(): void },
  close: () => Promise<unknown>,
  graceMs: number,
): Promise<void> {
  const force = setTimeout(() => {
    server.closeAllConnections();
  }, graceMs);
  force.unref();
  try {
    await close();
  } finally {
    clearTimeout(force);
  }
}

/**
 * Starts the HTTPS server with everything DESIGN.md's request path needs.
 * `overrides` are for tests (src/services.ts); a failed start has closed
 * everything it opened before the error reaches the caller.
 */
export async function startServer(config: Config, overrides: ServiceOverrides = {}): Promise<RunningServer> {
  const startup = createStartup(overrides);
  // The certificate first: production refuses a missing or development one before anything is opened or generated.
  const { tls, deviceCa, services } = await openOrDispose(startup, async () => {
    const material = await startup.open('tls', () => loadTlsMaterial(config));
    const ca = await startup.open('device-ca', () => (config.mtls === null ? null : loadDeviceCa(config.mtls)));
    return { tls: material, deviceCa: ca, services: await openServices(startup, config, overrides) };
  });
  const { logger } = services;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ event: 'server.stopping' }, 'draining in-flight requests');
      await startup.stack.disposeAsync();
      logger.info({ event: 'server.stopped' }, 'stopped');
      logger.flush();
    })();
    return stopping;
  };
  return openOrDispose(startup, async () => {
    const { app, url, mtls } = await openListeners(config, services, { tls, deviceCa });
    // Scheduled key rotation (CADUCEUS_KEY_ROTATION_DAYS; docs/key-management.md "Rotation"): one server of the deployment at a time.
    await startup.open(
      'rotation',
      () =>
        scheduleConfiguredRotation(config, {
          db: services.db,
          wrapper: services.wrapper,
          logger,
          audit: services.audit,
        }),
      (rotation) => rotation?.close(),
    );
    // Before the listening line: a supervisor may send SIGTERM as soon as it sees it, and must get a drain, not a kill.
    const onSignal = (): void => {
      void stop();
    };
    await startup.open(
      'signals',
      () => {
        for (const signal of signals) process.once(signal, onSignal);
      },
      () => {
        for (const signal of signals) process.removeListener(signal, onSignal);
      },
    );
    // Opened last, so closed first: a stopping server drains before anything else closes (src/edge/drain.ts).
    await startup.open(
      'drain',
      () => undefined,
      async () => {
        app.startDrain();
        if (config.shutdownDrainMs > 0) await delay(config.shutdownDrainMs);
      },
    );
    const empty = (await services.db.resources.search({ type: 'Patient', clauses: [], limit: 1 })).length === 0;
    await announce(app, config, logger, url, tls.generatedPath, empty);
    return { app, url, mtlsUrl: mtls?.url ?? null, stop };
  });
}

/** The app on its listeners: the main one, the device listener (mutual TLS) and the certificate reloader. */
async function openListeners(
  config: Config,
  services: Services,
  material: { readonly tls: TlsMaterial; readonly deviceCa: Buffer | null },
): Promise<{ app: FastifyInstance; url: string; mtls: MtlsListener | null }> {
  const { startup, logger, events } = services;
  const { tls, deviceCa } = material;
  // Requests still running after the grace period lose their connection.
  const app = await startup.open(
    'app',
    () => buildApp(config, services.appDependencies, { https: tls }),
    (built) => closeWithGrace(built.server, () => built.close(), config.shutdownGraceMs),
  );
  const address = await startup.open('listen', () =>
    app
      .listen({ host: config.host, port: config.port })
      .catch((error: unknown) =>
        Promise.reject(listenFailure(error, { host: config.host, port: config.port, portSetting: 'CADUCEUS_PORT' })),
      ),
  );
  // The device listener serves the same app; it starts after the main one, which owns the app's lifecycle (docs/tls.md).
  const mtls = await startup.open(
    'mtls-listener',
    () =>
      config.mtls === null || deviceCa === null
        ? null
        : startMtlsListener(
            app,
            { ...config, mtls: config.mtls },
            { key: tls.key, cert: tls.cert, ca: deviceCa, events },
          ),
    (listener) =>
      listener === null ? undefined : closeWithGrace(listener.server, () => listener.close(), config.shutdownGraceMs),
  );
  if (mtls !== null)
    logger.info({ event: 'server.mtls_listening', address: mtls.url }, `device listener (mutual TLS) on ${mtls.url}`);
  // One session ticket key across the deployment (docs/tls.md): a client resumes on any process.
  await startup.open(
    'tls-ticket-keys',
    () =>
      applyTicketKeys([tlsServerOf(app.server), ...(mtls === null ? [] : [mtls.server])], {
        configured: config.sharedSecrets.tlsTicketKey,
        derive: (purpose, length) => services.masterKey.derive(purpose, length),
      }),
    (ticketKeys) => {
      ticketKeys.close();
    },
  );
  // Certificate and key reload on file change and SIGHUP, on every listener (docs/tls.md).
  await startup.open(
    'tls-reload',
    () =>
      createTlsReloader({
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
      }),
    (reloader) => {
      reloader.close();
    },
  );
  return { app, url: address.replace('127.0.0.1', 'localhost'), mtls };
}
