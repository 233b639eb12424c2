/**
 * Which client certificate a request presented (docs/tls.md), for the
 * gate's RFC 8705 binding check: the certificate of the request's own TLS
 * connection (the mutual-TLS listener verified it against the device CA),
 * or the RFC 9440 `Client-Cert` header when, and only when, the connection
 * comes from a trusted proxy that terminated TLS for the client.
 */
import { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import '../../http/pipeline-plugin.js';
import { certificateThumbprint, type PresentedCertificate } from '../../lib/certificate-thumbprint.js';
import type { CidrBlock } from '../../config/index.js';
import type { SecurityEvents } from '../../lib/security-events.js';
import { createAddressList, type AddressList } from '../../lib/address-list.js';
import { parseClientCertHeader } from './client-cert-header.js';

/** What the step needs: the proxies whose `Client-Cert` is believed, and where ignored headers are reported. */
export interface ClientCertificateOptions {
  readonly trustedProxies: readonly CidrBlock[];
  readonly events: SecurityEvents;
}

/** The verified certificate of the connection itself; only a listener that asked for one (requestCert) has it. */
function fromConnection(request: FastifyRequest): PresentedCertificate | null {
  const socket = request.raw.socket;
  // `authorized`: the chain was verified against CADUCEUS_MTLS_CA during the handshake.
  if (!(socket instanceof TLSSocket) || !socket.authorized) return null;
  const der = socket.getPeerCertificate().raw as Buffer | undefined;
  return der === undefined ? null : { thumbprint: certificateThumbprint(der), der, source: 'tls' };
}

function presentedCertificate(
  request: FastifyRequest,
  proxies: AddressList,
  events: SecurityEvents,
): PresentedCertificate | null {
  const header = request.headers['client-cert'];
  if (header === undefined) return fromConnection(request);
  const peer = request.raw.socket.remoteAddress ?? '';
  const report = (reason: string): void => {
    events.emit({ kind: 'edge.client_cert_ignored', requestId: request.id, sourceIp: peer, details: { reason } });
  };
  // RFC 9440 §4 (security considerations): anyone can send the header; only a proxy we trust, that strips it from its own clients, is believed.
  if (!proxies.has(peer)) {
    report('untrusted_peer');
    return fromConnection(request);
  }
  const der = parseClientCertHeader(header);
  if (der === null) {
    // A trusted proxy that forwards garbage: no certificate, never the proxy's own connection certificate instead.
    report('malformed');
    return null;
  }
  return { thumbprint: certificateThumbprint(der), der, source: 'proxy' };
}

/** The `client-certificate` step: sets `request.clientCertificate` before the bearer gate runs. */
export const clientCertificatePlugin = fp(
  (app: FastifyInstance, options: ClientCertificateOptions) => {
    const proxies = createAddressList(options.trustedProxies);
    app.decorateRequest('clientCertificate', null);
    app.pipeline.add({
      name: 'client-certificate',
      run(request) {
        request.clientCertificate = presentedCertificate(request, proxies, options.events);
      },
    });
  },
  { name: 'caduceus-client-certificate', dependencies: ['caduceus-pipeline'] },
);
