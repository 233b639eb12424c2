import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorEnvelope, type ErrorCode } from '../errors/index.js';
import { errorCatalogue } from '../errors/catalogue.js';
import { randomHexId } from '../lib/random.js';
import type { EdgeRule } from './refusal.js';
import { securityHeaders } from './security-headers.js';

/** Node's client-error codes (http.Server 'clientError') mapped to the catalogue; anything else is 400. */
const nodeCodes: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
};

/** The edge rule each answer names in its `edge.refused` event. */
const rules: Readonly<Partial<Record<ErrorCode, EdgeRule>>> = {
  REQUEST_TIMEOUT: 'request_timeout',
  HEADERS_TOO_LARGE: 'headers_too_large',
};

const requestIdOf = Symbol('caduceus.requestId');
const refusedAs = Symbol('caduceus.refusedAs');

interface TrackedRequest extends IncomingMessage {
  [requestIdOf]?: string;
  [refusedAs]?: ErrorCode;
}

/** Fastify's genReqId: the id is also kept on the raw request so a later client error can answer under it. */
export function assignRequestId(raw: IncomingMessage): string {
  const id = randomHexId();
  (raw as TrackedRequest)[requestIdOf] = id;
  return id;
}

/**
 * The code a routed request was refused with by Node (its body timed out),
 * so that the error handler answers, and the audit event records, what the
 * client actually received.
 */
export function clientErrorOf(raw: IncomingMessage): ErrorCode | undefined {
  return (raw as TrackedRequest)[refusedAs];
}

/**
 * Answers requests Node refuses before Fastify routes them (malformed
 * requests, oversized headers, slow clients) with the API envelope and the
 * security headers, then closes the connection. `onRefused` counts the
 * refusal per source for monitoring (DESIGN.md: earlier refusals are counted)
 * under its edge rule: `malformed_request` covers everything llhttp refuses
 * (a bad request line, CR/LF or NUL in a header value, smuggling shapes).
 * A routed request whose body times out is answered under its own request id
 * and marked, so that its audit event (written by the request path when the
 * body stream fails) records the same 408.
 */
export function createClientErrorHandler(
  onRefused: (code: ErrorCode, sourceIp: string | undefined, rule: EdgeRule) => void,
) {
  return function handleClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // A request Fastify already routed (its body was still arriving) has a ServerResponse on the socket.
    const inFlight =
      (socket as Socket & { _httpMessage?: ServerResponse<TrackedRequest> | null })._httpMessage ?? undefined;
    if (inFlight?.headersSent === true) {
      // A response already went out (an early 401, say): a second one would corrupt the stream.
      socket.destroy();
      return;
    }
    const code = (error.code === undefined ? undefined : nodeCodes[error.code]) ?? 'BAD_REQUEST';
    const routed = inFlight?.req;
    if (routed !== undefined) routed[refusedAs] = code;
    else onRefused(code, socket.remoteAddress, rules[code] ?? 'malformed_request');
    const requestId = routed?.[requestIdOf] ?? randomHexId();
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
      const head = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${head}\r\n${body}`);
    }
    socket.destroy();
  };
}
