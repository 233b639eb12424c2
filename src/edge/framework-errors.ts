import { isIP } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './error-handler.js';
import type { SecurityEvents } from '../lib/security-events.js';
import type { Refusal } from './refusal.js';
import { invalid } from './refusal.js';
import { securityHeaders } from './security-headers.js';

/** The refusal for each error Fastify's router raises before any hook runs. */
function refusalFor(error: FastifyError): Refusal {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return invalid('percent_encoding', 'The request URL has malformed percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return invalid('path_parameter_too_long', 'A path segment of the request URL is too long');
    default:
      return { rule: 'malformed_request', code: 'BAD_REQUEST', message: 'The request URL is malformed' };
  }
}

/**
 * Fastify's `frameworkErrors`: errors the router raises before the route's
 * hooks (a path that does not percent-decode, an overlong path parameter).
 * Without it Fastify answers outside the envelope, without the security
 * headers and with the path echoed back. These are edge refusals like the
 * others: the envelope, the headers, and an `edge.refused` event.
 */
export function createFrameworkErrorHandler(events: SecurityEvents) {
  return function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const refusal = refusalFor(error);
    const ip = request.ip;
    events.emit({
      kind: 'edge.refused',
      requestId: request.id,
      sourceIp: isIP(ip) === 0 ? (request.raw.socket.remoteAddress ?? null) : ip,
      details: { rule: refusal.rule, code: refusal.code },
    });
    reply.headers(securityHeaders).header('x-request-id', request.id);
    sendError(reply, refusal.code, refusal.message);
  };
}
