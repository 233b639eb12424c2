/**
 * The device listener (docs/tls.md): a second HTTPS server, TLS 1.3 only,
 * that requires a client certificate issued by CADUCEUS_MTLS_CA and serves
 * the very same Fastify app (same routes, same layers) through
 * `app.routing`. Keeping the certificate request on a port of its own is
 * RFC 8705 §5's `mtls_endpoint_aliases` design: browsers on the main
 * listener never see a certificate prompt.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config, MtlsConfig } from '../../config/index.js';
import type { SecurityEvents } from '../../lib/security-events.js';
import { createAddressList } from '../../lib/address-list.js';
import { limitConnectionsPerIp } from '../connection-limit.js';
import { TlsSetupError } from '../tls.js';
import { listenFailure } from '../listen-error.js';

/** A listening device server. */
export interface MtlsListener {
  readonly server: Server;
  /** Where it actually listens (`https://localhost:<port>`); CADUCEUS_MTLS_URL is what is published. */
  readonly url: string;
  /** The secure-context options a certificate reload must keep (the device CA). */
  readonly contextOptions: { readonly ca: Buffer };
  /** Stops accepting, ends idle connections, resolves when the last one closed. */
  close(): Promise<void>;
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads the device CA bundle; refuses a file that cannot be read or holds anything but CA certificates. */
export async function loadDeviceCa(mtls: MtlsConfig): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(mtls.caPath);
  } catch {
    throw new TlsSetupError('The device CA bundle (CADUCEUS_MTLS_CA) cannot be read');
  }
  const blocks = pem.toString('latin1').match(pemCertificate) ?? [];
  if (blocks.length === 0) throw new TlsSetupError('The device CA bundle (CADUCEUS_MTLS_CA) holds no PEM certificate');
  for (const block of blocks) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch {
      throw new TlsSetupError('The device CA bundle (CADUCEUS_MTLS_CA) holds a certificate that does not parse');
    }
    // A leaf here is the wrong file: OpenSSL would trust that one certificate as a client, which is pinning, not a device PKI.
    if (!certificate.ca)
      throw new TlsSetupError('The device CA bundle (CADUCEUS_MTLS_CA) holds a certificate that is not a CA');
  }
  return pem;
}

/** The main server's per-connection settings, so both listeners treat slow and malformed clients alike. */
function copyServerSettings(from: FastifyInstance['server'], to: Server): void {
  to.headersTimeout = from.headersTimeout;
  to.requestTimeout = from.requestTimeout;
  to.keepAliveTimeout = from.keepAliveTimeout;
  to.timeout = from.timeout;
  to.maxRequestsPerSocket = from.maxRequestsPerSocket;
  // Fastify's client-error handler (400/408/431 with the error envelope and the edge.refused event).
  for (const listener of from.listeners('clientError')) to.on('clientError', listener as (...args: unknown[]) => void);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the mutual-TLS listener on `config.mtls` with the main listener's certificate and the device CA. */
export async function startMtlsListener(
  app: FastifyInstance,
  config: Config & { readonly mtls: MtlsConfig },
  deps: { readonly key: Buffer; readonly cert: Buffer; readonly ca: Buffer; readonly events: SecurityEvents },
): Promise<MtlsListener> {
  const server = createServer(
    {
      key: deps.key,
      cert: deps.cert,
      ca: deps.ca,
      // TLS 1.3 only, as the main listener; a certificate from the device CA or no connection (RFC 8705 §2.1 PKI method).
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: true,
      maxHeaderSize: config.limits.headerBytes,
      // As app.ts: Node checks header and request timeouts on this interval.
      connectionsCheckingInterval: Math.max(
        100,
        Math.floor(Math.min(config.limits.headersTimeoutMs, config.limits.requestTimeoutMs) / 2),
      ),
    },
    (request, response) => {
      app.routing(request, response);
    },
  );
  copyServerSettings(app.server, server);
  server.on('tlsClientError', (_error: Error, socket: { remoteAddress?: string }) => {
    // No certificate, another CA's, an expired one: refused in the handshake, counted like every early refusal (no detail from the client).
    deps.events.emit({
      kind: 'edge.refused',
      sourceIp: socket.remoteAddress ?? null,
      details: { rule: 'client_certificate' },
    });
  });
  if (config.edge.maxConnectionsPerIp > 0) {
    limitConnectionsPerIp(server, {
      max: config.edge.maxConnectionsPerIp,
      exempt: createAddressList(config.edge.trustedProxies),
      onRefused: (address) => {
        deps.events.emit({
          kind: 'edge.refused',
          sourceIp: address,
          details: { rule: 'connection_limit', limit: config.edge.maxConnectionsPerIp },
        });
      },
    });
  }
  const port = await listen(server, config.host, config.mtls.port).catch((error: unknown) =>
    Promise.reject(
      listenFailure(error, { host: config.host, port: config.mtls.port, portSetting: 'CADUCEUS_MTLS_PORT' }),
    ),
  );
  return {
    server,
    url: `https://localhost:${port}`,
    contextOptions: { ca: deps.ca },
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
