import type { FastifyInstance } from 'fastify';
import '../../http/request-context.js';
import '../../access/access-rule.js';
import {
  auditedParamNames,
  cursorParamSchema,
  instantSchema,
  nextPageUrl,
  parseTimeRange,
} from '../../http/query-params.js';
import { refuseOtherMethods } from '../../http/method-not-allowed.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import type { AlertStore } from '../../storage/ports.js';
import type { Alert, AlertSeverity } from '../../storage/alerts.js';

/** What the alerts API needs. */
export interface AlertRouteOptions {
  readonly alerts: AlertStore;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
}

interface AlertsQuery {
  readonly kind?: string;
  readonly severity?: AlertSeverity;
  readonly since?: string;
  readonly until?: string;
  readonly _count?: number;
  readonly _cursor?: string;
}

const base = '/api/v1/alerts';
const severities = ['low', 'medium', 'high', 'critical'] as const satisfies readonly AlertSeverity[];
/** A pseudo resource type in the permission matrix: admin and auditor may search (docs/access-control.md). */
const access = { access: { resourceType: 'Alert', interaction: 'search' } } as const;
/** A cursor holds the last alert's place: time|id. */
const positionShape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\|[0-9a-f]{32}$/;

function querySchema(maxPageSize: number): { querystring: Record<string, unknown> } {
  const properties = {
    // A kind name, not an enum: a new kind (src/config/alert-kinds.ts) needs no change to this route.
    kind: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' },
    severity: { type: 'string', enum: severities },
    since: instantSchema,
    until: instantSchema,
    _count: { type: 'integer', minimum: 1, maximum: maxPageSize },
    _cursor: cursorParamSchema,
  };
  // propertyNames, not additionalProperties: false, which Fastify's Ajv strips silently instead of refusing.
  return { querystring: { type: 'object', properties, propertyNames: { enum: Object.keys(properties) } } };
}

/** The place an alert holds in the newest-first order, as the store stores its time (toISOString). */
function cursorAfter(alert: Alert): string {
  return encodeCursor(`${new Date(alert.time).toISOString()}|${alert.id}`);
}

/** Lists stored alerts for admins and auditors, newest first; the request is audited by parameter names. */
export function registerAlertRoutes(app: FastifyInstance, options: AlertRouteOptions): void {
  app.get<{ Querystring: AlertsQuery }>(
    base,
    { config: access, schema: querySchema(options.maxPageSize) },
    async (request, reply) => {
      request.auditDetails = { searchParams: auditedParamNames(request.query) };
      const { kind, severity, _count, _cursor } = request.query;
      const position = decodeCursor(_cursor, positionShape);
      const [time = '', id = ''] = position?.split('|') ?? [];
      const limit = _count ?? options.defaultPageSize;
      const found = await options.alerts.list({
        ...parseTimeRange(request.query),
        ...(kind !== undefined && { kind }),
        ...(severity !== undefined && { severity }),
        ...(position !== undefined && { after: { time, id } }),
        limit: limit + 1,
      });
      const page = found.slice(0, limit);
      const last = page.at(-1);
      const next =
        found.length > limit && last !== undefined ? nextPageUrl(base, request.query, cursorAfter(last), limit) : null;
      return reply.type('application/json; charset=utf-8').send({ alerts: page, next });
    },
  );

  refuseOtherMethods(app, base, ['GET']);
}
