import { ApiError } from '../errors/index.js';

/**
 * ISO 8601 as the audit and alert APIs accept it: a date (midnight UTC), or
 * a date-time with seconds optional and a zone required, so no instant
 * depends on the server's local time.
 */
const isoPattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2})))?$/;
const storedForm = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The instant in `toISOString` form, the form stored times have, so the
 * stores compare text as instants; undefined when not a real calendar instant.
 * By hand because V8's Date.parse accepts 2024-02-30 (rolling it into March).
 */
export function parseInstant(text: string): string | undefined {
  const m = isoPattern.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((group) => Number(m[group] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const sign = m[9] === '-' ? -1 : 1;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 14 || offsetMinutes > 59) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day));
  date.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  const instant =
    date.getTime() + ((hour * 60 + minute - sign * (offsetHours * 60 + offsetMinutes)) * 60 + second) * 1000 + millis;
  const iso = new Date(instant).toISOString();
  return storedForm.test(iso) ? iso : undefined;
}

/** `since` (inclusive) and `until` (exclusive) as stored-form instants, or 400 naming the parameter (never its value). */
export function parseTimeRange(query: { since?: string; until?: string }): { since?: string; until?: string } {
  const range: { since?: string; until?: string } = {};
  for (const name of ['since', 'until'] as const) {
    const raw = query[name];
    if (raw === undefined) continue;
    const instant = parseInstant(raw);
    if (instant === undefined)
      throw new ApiError('VALIDATION_ERROR', `${name}: not an ISO 8601 date, or date-time with a time zone`);
    range[name] = instant;
  }
  if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
    throw new ApiError('VALIDATION_ERROR', 'since must be earlier than until');
  }
  return range;
}

/** The query-string schema of a date parameter; parseTimeRange checks the calendar. */
export const instantSchema = { type: 'string', minLength: 10, maxLength: 40 } as const;

/** An opaque `_cursor` (base64url, as the resource search's: src/resources/engine/http.ts). */
export const cursorParamSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,400}$' } as const;

/** The search parameter names of a request, for its audit event: names only, never values (HIPAA 164.312(b), docs/audit.md). */
export function auditedParamNames(query: object): string[] {
  return Object.keys(query)
    .filter((name) => name !== '_count' && name !== '_cursor')
    .sort();
}

/** The next page's URL: the request's own parameters with a new `_cursor`. */
export function nextPageUrl(path: string, query: object, cursor: string, count?: number): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query) as [string, unknown][]) {
    // Validated query values are strings and integers only.
    if (name !== '_cursor' && name !== '_count' && (typeof value === 'string' || typeof value === 'number'))
      params.set(name, String(value));
  }
  if (count !== undefined) params.set('_count', String(count));
  params.set('_cursor', cursor);
  return `${path}?${params.toString()}`;
}
