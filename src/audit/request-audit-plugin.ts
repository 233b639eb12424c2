import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';
import { reachedAuthentication } from '../http/request-context.js';
import { errorEnvelope } from '../errors/index.js';
import type { AuditEvent, AuditLog } from './event.js';

function errorCodeOf(payload: unknown): string | null {
  if (typeof payload !== 'string' || !payload.startsWith('{"error":')) return null;
  const parsed = JSON.parse(payload) as { error?: { code?: unknown } };
  return typeof parsed.error?.code === 'string' ? parsed.error.code : null;
}

/**
 * The resource id from the path, only when the route's params schema accepts
 * it: a refused id names no resource, and is client input the log must not keep.
 */
function targetId(request: FastifyRequest): string | null {
  const params = request.params as Record<string, unknown> | undefined;
  const id = params?.id;
  if (typeof id !== 'string') return null;
  const validate = request.getValidationFunction('params');
  return validate === undefined || validate(params) ? id : null;
}

function eventFor(request: FastifyRequest, reply: FastifyReply, payload: unknown): AuditEvent {
  const rule = request.routeOptions.config.access;
  const principal = request.principal;
  const details = request.auditDetails;
  return {
    time: new Date(Date.now() - reply.elapsedTime).toISOString(),
    requestId: request.id,
    category: 'api',
    actor: {
      subject: principal?.subject ?? null,
      client: principal?.clientId ?? null,
      role: principal?.role ?? null,
      sourceIp: request.ip,
    },
    action: {
      interaction: typeof rule === 'object' ? rule.interaction : `${request.method} ${request.routeOptions.url ?? ''}`,
      resourceType: typeof rule === 'object' ? rule.resourceType : null,
      resourceId: details?.resourceId ?? targetId(request),
      ...(details?.searchParams !== undefined && { searchParams: details.searchParams }),
      ...(details?.resultIds !== undefined && { resultIds: details.resultIds }),
      ...(request.authFailure !== null && {
        details: {
          authFailure: request.authFailure,
          ...(request.claimedSubject !== null && { claimedSubject: request.claimedSubject }),
        },
      }),
      ...(details?.details !== undefined && { details: details.details }),
    },
    outcome: { status: reply.statusCode, code: errorCodeOf(payload) },
  };
}

/** Writes the request's event; on failure the answer becomes 503 (fail closed). */
async function recordOrFail(
  audit: AuditLog,
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  try {
    await audit.record(eventFor(request, reply, payload));
    return payload;
  } catch {
    request.log.error(
      { requestId: request.id, errorType: 'AuditWriteFailed' },
      'audit event not durable; failing closed',
    );
    reply
      .code(503)
      .type('application/json; charset=utf-8')
      .removeHeader('etag')
      .removeHeader('location')
      .removeHeader('last-modified');
    return JSON.stringify(errorEnvelope('SERVICE_UNAVAILABLE', request.id));
  }
}

/**
 * The audit layer (request-path step 8), the `audit-event` step: one event
 * per request that reached authentication, durable before the response
 * leaves (HIPAA 164.312(b)). If the event cannot be written the request
 * fails closed with 503.
 */
export const requestAuditPlugin = fp(
  (app: FastifyInstance, options: { audit: AuditLog }) => {
    app.decorateRequest('auditDetails', null);
    app.pipeline.add({
      name: 'audit-event',
      run(request, reply, payload) {
        // Refused before authentication: counted per source instead (src/audit/refusal-counts.ts), no promise spent.
        if (request[reachedAuthentication] !== true) return undefined;
        return recordOrFail(options.audit, request, reply, payload);
      },
    });
  },
  { name: 'caduceus-request-audit', dependencies: ['caduceus-pipeline'] },
);
