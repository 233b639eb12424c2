import type { AuditEventFilter } from './ports.js';

/** The equality filters of an audit search and where each lives in the stored event (src/audit/event.ts). */
export const auditFilterPaths = {
  subject: ['actor', 'subject'],
  client: ['actor', 'client'],
  role: ['actor', 'role'],
  sourceIp: ['actor', 'sourceIp'],
  interaction: ['action', 'interaction'],
  resourceType: ['action', 'resourceType'],
  resourceId: ['action', 'resourceId'],
  status: ['outcome', 'status'],
  requestId: ['requestId'],
} as const satisfies Record<keyof Omit<AuditEventFilter, 'since' | 'until'>, readonly string[]>;

/** A filter name of {@link auditFilterPaths}. */
export type AuditFilterName = keyof typeof auditFilterPaths;

/** The filter names, in one fixed order (SQL text is built from these constants only, never from input). */
export const auditFilterNames = Object.keys(auditFilterPaths) as AuditFilterName[];
