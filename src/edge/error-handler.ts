import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { clientErrorOf } from './client-error.js';
import { isApiError, type ApiError } from '../errors/api-error.js';
import { errorCatalogue, type ErrorCode } from '../errors/catalogue.js';
import { errorEnvelope } from '../errors/envelope.js';
import { StorageError } from '../storage/errors.js';

/** Fastify's own error codes that are the client's fault, mapped to the catalogue. */
const frameworkCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_ERROR',
};

/** Safe, fixed messages for framework errors: theirs may echo input. */
const frameworkMessages: Partial<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Content-Type must be application/fhir+json or application/json',
  FST_ERR_CTP_EMPTY_TYPE: 'Content-Type must be application/fhir+json or application/json',
  FST_ERR_BAD_URL: 'The request URL is malformed',
};

/** Sends the seed's envelope; the one place an API error response is written. */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message?: string,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply
    .code(errorCatalogue[code].status)
    .headers(headers)
    .type('application/json; charset=utf-8')
    .send(errorEnvelope(code, reply.request.id, message));
}

function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  if (first === undefined) return errorCatalogue.VALIDATION_ERROR.message;
  // Name the field by location only; Ajv messages for our param/query schemas never carry values.
  const where = `${error.validationContext ?? 'request'}${first.instancePath.replaceAll('/', '.')}`;
  return `Invalid ${where}: ${first.message ?? 'not allowed'}`;
}

/** The error itself, or the ApiError a lower layer wrapped as its cause (a circuit breaker's 503 inside a StorageError). */
function apiErrorOf(error: Error): ApiError | undefined {
  if (isApiError(error)) return error;
  return isApiError(error.cause) ? error.cause : undefined;
}

/**
 * A database that cannot be reached or stays locked past its busy timeout
 * is a temporary condition: 503 with a short Retry-After, not a 500.
 */
function isTemporaryStorageFailure(error: Error): boolean {
  return error instanceof StorageError && (error.reason === 'unavailable' || error.reason === 'busy');
}

/**
 * The error handler and 404 handler (request-path step 8): every error
 * becomes the envelope; unexpected ones answer 500 INTERNAL_ERROR and are
 * logged by type and code only (messages may carry SQL or PHI).
 */
export const errorHandlerPlugin = fp(
  (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const answer = apiErrorOf(error);
      if (answer !== undefined) return sendError(reply, answer.code, answer.message, { ...answer.headers });
      const refused = clientErrorOf(request.raw);
      if (refused !== undefined) return sendError(reply, refused); // the client already has this answer (edge/client-error.ts)
      const mapped = error.code in frameworkCodes ? frameworkCodes[error.code] : undefined;
      if (mapped !== undefined) {
        const message = mapped === 'VALIDATION_ERROR' ? validationMessage(error) : frameworkMessages[error.code];
        return sendError(reply, mapped, message);
      }
      if (isTemporaryStorageFailure(error)) {
        request.log.error({ requestId: request.id, errorType: error.name }, 'database unavailable');
        return sendError(reply, 'SERVICE_UNAVAILABLE', undefined, { 'retry-after': '1' });
      }
      request.log.error({ requestId: request.id, errorType: error.name, errorCode: error.code }, 'unexpected error');
      return sendError(reply, 'INTERNAL_ERROR');
    });
    app.setNotFoundHandler((_request, reply) => sendError(reply, 'NOT_FOUND'));
  },
  { name: 'caduceus-errors' },
);
