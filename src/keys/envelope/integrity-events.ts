import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import '../../http/pipeline-plugin.js';
import type { SecurityEvents } from '../../lib/security-events.js';
import { IntegrityError } from './errors.js';

/**
 * The `integrity-events` step: raises `integrity.error` for a request whose
 * record failed to open (docs/key-management.md "Integrity failures"): type,
 * id, version and the kind of failure, with the request id so the alert
 * points at its audit event. Never the sealed bytes or any content. The
 * response itself is the error handler's 500 INTERNAL_ERROR, without detail.
 */
export const integrityEventsPlugin = fp(
  (app: FastifyInstance, options: { readonly events: SecurityEvents }) => {
    const { events } = options;
    app.pipeline.add({
      name: 'integrity-events',
      run(request, _reply, error) {
        if (!(error instanceof IntegrityError)) return;
        events.emit({
          kind: 'integrity.error',
          requestId: request.id,
          sourceIp: request.ip,
          subject: request.principal?.subject ?? null,
          details: {
            source: 'sealed-record',
            resourceType: error.type,
            resourceId: error.id,
            version: error.version,
            failure: error.failure,
          },
        });
      },
    });
  },
  { name: 'caduceus-integrity-events', dependencies: ['caduceus-pipeline'] },
);
