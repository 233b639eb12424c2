import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorEnvelope, type ErrorCode } from '../errors/index.js';
import { errorCatalogue } from '../errors/catalogue.js';
import { randomHexId } from '../security/random.js';
import { securityHeaders } from './security-headers.js';

/** Node's client-error codes (http.Server 'clientError') mapped to the catalogue; anything else is 400. */
const nodeCodes: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  HPE_URI_TOO_LONG: 'URI_TOO_LONG',
};

/**
 * Answers requests Node refuses before Fastify routes them (malformed
 * requests, oversized headers, slow clients) with the API envelope and the
 * security headers, then closes the connection. `onRefused` counts the
 * refusal per source for monitoring (DESIGN.md: earlier refusals are counted).
 */
export function createClientErrorHandler(onRefused: (code: ErrorCode, sourceIp: string | undefined) => void) {
  return function handleClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const code = (error.code === undefined ? undefined : nodeCodes[error.code]) ?? 'BAD_REQUEST';
    onRefused(code, socket.remoteAddress);
    const requestId = randomHexId();
    const body = JSON.stringify(errorEnvelope(code, requestId));
    const status = errorCatalogue[code].status;
    const headers = {
      ...securityHeaders,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': requestId,
      connection: 'close',
    };
    if (socket.writable) {
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${head}\r\n${body}`);
    }
    socket.destroy();
  };
}
