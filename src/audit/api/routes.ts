import type { FastifyInstance } from 'fastify';
import '../request-audit-plugin.js';
import '../../access/access-rule.js';
import { refuseOtherMethods } from '../../http/method-not-allowed.js';
import type { AuditEventSearch } from '../../storage/ports.js';
import { auditEventsQuerySchema, cursorAfter, toAuditFilter, type AuditEventsQuery } from './audit-filter.js';
import { auditExportStream, toItem } from './export.js';
import { auditedParamNames, nextPageUrl } from '../../http/query-params.js';

/** What the audit-events API needs. */
export interface AuditEventRouteOptions {
  readonly search: AuditEventSearch;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  /** CADUCEUS_AUDIT_EXPORT_MAX_RECORDS. */
  readonly exportMaxRecords: number;
}

const base = '/api/v1/audit-events';
const exportPath = `${base}/_export`;
/** A pseudo resource type in the permission matrix: admin and auditor may search (docs/access-control.md). */
const access = { access: { resourceType: 'AuditEvent', interaction: 'search' } } as const;

/**
 * Search and export of the audit log (HIPAA 164.312(b): audit records are
 * examined, not only kept). Read-only; each request is itself audited by the
 * audit layer, with the names of its parameters and never their values.
 */
export function registerAuditEventRoutes(app: FastifyInstance, options: AuditEventRouteOptions): void {
  app.get<{ Querystring: AuditEventsQuery }>(
    base,
    { config: access, schema: auditEventsQuerySchema(options.maxPageSize) },
    async (request, reply) => {
      request.auditDetails = { searchParams: auditedParamNames(request.query) };
      const filter = toAuditFilter(request.query);
      const limit = request.query._count ?? options.defaultPageSize;
      // One row more than the page tells whether a next page exists, so the last page never links to an empty one.
      const rows = await options.search.search({ ...filter, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const next =
        rows.length > limit && last !== undefined ? nextPageUrl(base, request.query, cursorAfter(last), limit) : null;
      return reply.type('application/json; charset=utf-8').send({ events: page.map(toItem), next });
    },
  );

  app.get<{ Querystring: AuditEventsQuery }>(
    exportPath,
    { config: access, schema: auditEventsQuerySchema(null) },
    async (request, reply) => {
      request.auditDetails = { searchParams: auditedParamNames(request.query) };
      const stream = await auditExportStream({
        search: options.search,
        filter: toAuditFilter(request.query),
        maxRecords: options.exportMaxRecords,
        resumeUrl: (row) => nextPageUrl(exportPath, request.query, cursorAfter(row)),
      });
      return reply.type('application/x-ndjson; charset=utf-8').send(stream);
    },
  );

  refuseOtherMethods(app, base, ['GET']);
  refuseOtherMethods(app, exportPath, ['GET']);
}
