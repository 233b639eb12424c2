import { Readable } from 'node:stream';
import type { AuditEventFilter, AuditEventSearch, AuditPosition, AuditRow } from '../../storage/ports.js';
import type { AuditEvent } from '../event.js';

/** One audit event as the API returns it: its place in the writer's hash chain, and the event as stored. */
export interface AuditEventItem {
  readonly writerId: string;
  readonly seq: number;
  readonly event: AuditEvent;
}

/** The API item of a stored row (events carry no PHI by design: src/audit/event.ts). */
export function toItem(row: AuditRow): AuditEventItem {
  return { writerId: row.writerId, seq: row.seq, event: JSON.parse(row.payload) as AuditEvent };
}

/** Rows per store query of an export: large enough to amortise the query, small enough to keep memory flat. */
const exportPageSize = 500;

/** What one export streams. */
export interface ExportOptions {
  readonly search: AuditEventSearch;
  readonly filter: AuditEventFilter & { readonly after?: AuditPosition };
  /** The cap (CADUCEUS_AUDIT_EXPORT_MAX_RECORDS); past it a `{"next": url}` line says where to resume. */
  readonly maxRecords: number;
  /** The URL that resumes after a row. */
  readonly resumeUrl: (row: AuditRow) => string;
}

function positionOf(row: AuditRow): AuditPosition {
  return { time: row.time, writerId: row.writerId, seq: row.seq };
}

function ndjson(rows: readonly AuditRow[]): string {
  return rows.map((row) => `${JSON.stringify(toItem(row))}\n`).join('');
}

async function* exportLines(options: ExportOptions, first: AuditRow[], pageSize: number): AsyncGenerator<string> {
  let page = first;
  let requested = pageSize;
  let sent = 0;
  for (;;) {
    if (page.length > 0) yield ndjson(page);
    sent += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < requested) return;
    const room = options.maxRecords - sent;
    if (room === 0) {
      // At the cap: one more row tells whether the export was cut, and a `next` line says so.
      const more = await options.search.search({ ...options.filter, after: positionOf(last), limit: 1 });
      if (more.length > 0) yield `${JSON.stringify({ next: options.resumeUrl(last) })}\n`;
      return;
    }
    requested = Math.min(pageSize, room);
    page = await options.search.search({ ...options.filter, after: positionOf(last), limit: requested });
  }
}

/**
 * The NDJSON body of an export, pulled page by page as the client reads
 * (highWaterMark 1: at most about two pages in memory, whatever the size).
 * The first page is read before this resolves, so a store failure still
 * answers with the error envelope rather than a cut stream.
 */
export async function auditExportStream(options: ExportOptions): Promise<Readable> {
  const pageSize = Math.min(exportPageSize, options.maxRecords);
  const first = await options.search.search({ ...options.filter, limit: pageSize });
  return Readable.from(exportLines(options, first, pageSize), { objectMode: true, highWaterMark: 1 });
}
