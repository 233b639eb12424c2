import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';
import type { EdgeConfig } from '../config/index.js';
import { ApiError } from '../errors/index.js';
import type { SecurityEvents } from '../lib/security-events.js';
import { firstRefusal } from './checks/index.js';
import { limitConnectionsPerIp } from './connection-limit.js';
import { EdgeInput } from './edge-input.js';
import { createEdgePolicy, type EdgePolicy } from './policy.js';
import { scanValues, type InputLocation, type SuspiciousRule } from './suspicious-input.js';

/** What the edge filter needs: its settings and the security-event stream. */
export interface EdgeFilterOptions {
  readonly config: EdgeConfig;
  readonly events: SecurityEvents;
}

const blockedMessage = 'The request contains input that matches a refused signature';

/**
 * Reports each signature found (rule and location, never the value) and,
 * in block mode, returns the error that refuses the request.
 */
function reportSuspicious(
  request: FastifyRequest,
  events: SecurityEvents,
  policy: EdgePolicy,
  location: InputLocation,
  found: ReadonlySet<SuspiciousRule>,
): ApiError | undefined {
  if (found.size === 0) return undefined;
  for (const rule of found) {
    events.emit({
      kind: 'edge.suspicious_input',
      requestId: request.id,
      sourceIp: request.ip,
      subject: request.principal?.subject ?? null,
      details: { rule, location, blocked: policy.blockSuspicious },
    });
  }
  return policy.blockSuspicious ? new ApiError('VALIDATION_ERROR', blockedMessage) : undefined;
}

/**
 * Request filtering at the edge (request-path step 1, after the request id
 * and security headers): the `edge-filter` step runs the checks of
 * `./checks/index.ts` on every request before authentication, so a refusal
 * costs no token verification and writes no audit event (it is counted as an
 * `edge.refused` security event instead), and reports suspicious-input
 * signals in the query; and the per-peer connection limit.
 */
export const edgeFilterPlugin = fp(
  (app: FastifyInstance, options: EdgeFilterOptions) => {
    const { events } = options;
    const policy = createEdgePolicy(options.config);
    if (policy.maxConnectionsPerIp > 0) {
      limitConnectionsPerIp(app.server, {
        max: policy.maxConnectionsPerIp,
        exempt: policy.trustedProxies,
        onRefused: (address) => {
          events.emit({
            kind: 'edge.refused',
            sourceIp: address,
            details: { rule: 'connection_limit', limit: policy.maxConnectionsPerIp },
          });
        },
      });
    }

    app.pipeline.add({
      name: 'edge-filter',
      run(request) {
        const peer = request.raw.socket.remoteAddress ?? '';
        const input = new EdgeInput(request.ip, peer, request.url, request.raw.rawHeaders.length / 2);
        const refusal = firstRefusal(input, policy);
        if (refusal !== undefined) {
          events.emit({
            kind: 'edge.refused',
            requestId: request.id,
            // A malformed forwarded address is input: the event names the proxy that sent it.
            sourceIp: refusal.rule === 'client_address' ? peer : input.ip,
            details: { rule: refusal.rule, code: refusal.code },
          });
          throw new ApiError(refusal.code, refusal.message);
        }
        // Path parameters are not scanned: each has a strict pattern (an id) that such text never passes.
        if (input.query.length === 0) return;
        const blocked = reportSuspicious(request, events, policy, 'query', scanValues(request.query));
        if (blocked !== undefined) throw blocked;
      },
    });
  },
  { name: 'caduceus-edge-filter', dependencies: ['caduceus-pipeline', 'caduceus-edge'] },
);

/**
 * The `body-signatures` step (request-path step 6, validation): the same
 * suspicious-input signals on the parsed body, its JSON string values
 * decoded, before schema validation.
 */
export const bodySignaturesPlugin = fp(
  (app: FastifyInstance, options: EdgeFilterOptions) => {
    const { events } = options;
    const policy = createEdgePolicy(options.config);
    app.pipeline.add({
      name: 'body-signatures',
      run(request) {
        const body: unknown = request.body;
        if (typeof body !== 'object' || body === null) return;
        const blocked = reportSuspicious(request, events, policy, 'body', scanValues(body));
        if (blocked !== undefined) throw blocked;
      },
    });
  },
  { name: 'caduceus-body-signatures', dependencies: ['caduceus-pipeline'] },
);
