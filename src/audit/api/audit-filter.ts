import type { FastifySchema } from 'fastify';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { auditFilterNames } from '../../storage/audit-fields.js';
import type { AuditEventFilter, AuditPosition, AuditRow } from '../../storage/ports.js';
import { cursorParamSchema, instantSchema, parseTimeRange } from '../../http/query-params.js';

/** The query string of the audit-events API, as validated (status coerced to an integer): the store's filter plus paging. */
export interface AuditEventsQuery extends AuditEventFilter {
  readonly _count?: number;
  readonly _cursor?: string;
}

const text = { type: 'string', minLength: 1, maxLength: 256 } as const;

const filterProperties = {
  since: instantSchema,
  until: instantSchema,
  subject: text,
  client: text,
  role: { type: 'string', pattern: '^[a-z]{1,32}$' },
  sourceIp: { type: 'string', pattern: '^[0-9A-Fa-f.:]{2,45}$' },
  interaction: { type: 'string', pattern: '^[A-Za-z0-9._ /:{}-]{1,128}$' },
  resourceType: { type: 'string', pattern: '^[A-Za-z]{1,64}$' },
  resourceId: text,
  status: { type: 'integer', minimum: 100, maximum: 599 },
  requestId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' },
  _cursor: cursorParamSchema,
} as const;

/**
 * The strict query-string schema: an unknown parameter is a 400
 * (`propertyNames`, since Fastify's Ajv silently strips what
 * `additionalProperties: false` refuses); a repeated one too.
 */
export function auditEventsQuerySchema(maxPageSize: number | null): FastifySchema {
  const properties =
    maxPageSize === null
      ? filterProperties
      : { ...filterProperties, _count: { type: 'integer', minimum: 1, maximum: maxPageSize } };
  return { querystring: { type: 'object', properties, propertyNames: { enum: Object.keys(properties) } } };
}

/** A cursor holds the last row's place: time|writerId|seq (writer ids as src/audit/writer.ts allows them). */
const positionShape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\|[A-Za-z0-9._:-]{1,128}\|[1-9][0-9]{0,14}$/;

/** The opaque cursor after a row. */
export function cursorAfter(row: AuditRow): string {
  return encodeCursor(`${row.time}|${row.writerId}|${String(row.seq)}`);
}

/** The store query of a validated request: filters, time range and the decoded cursor (400 on a forged one). */
export function toAuditFilter(query: AuditEventsQuery): AuditEventFilter & { after?: AuditPosition } {
  const position = decodeCursor(query._cursor, positionShape);
  const filter: { -readonly [K in keyof AuditEventFilter]: AuditEventFilter[K] } = parseTimeRange(query);
  for (const name of auditFilterNames) {
    const value = query[name];
    if (value !== undefined) (filter as Record<string, string | number>)[name] = value;
  }
  return { ...filter, ...(position !== undefined && { after: toPosition(position) }) };
}

function toPosition(value: string): AuditPosition {
  const [time = '', writerId = '', seq = ''] = value.split('|');
  return { time, writerId, seq: Number(seq) };
}
