import type { RuleSpec, WorkingHours } from '../../config/monitoring-rules.js';
import { formatWindow } from './signals.js';
import type { Rule } from './types.js';

/** UTC offsets change on quarter hours at most: one Intl call per quarter hour, not per event. */
const quarterHourMs = 900_000;

/** Minute of the local day of an instant in a zone, via Intl (IANA zones, daylight saving included). */
export function localMinuteOf(timeZone: string): (time: number) => number {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  let cachedQuarter = Number.NaN;
  let cachedMinute = 0;
  return (time) => {
    const quarter = Math.floor(time / quarterHourMs);
    if (quarter !== cachedQuarter) {
      const parts = format.formatToParts(quarter * quarterHourMs);
      const part = (type: string): number => Number(parts.find((item) => item.type === type)?.value ?? 0);
      cachedQuarter = quarter;
      cachedMinute = part('hour') * 60 + part('minute');
    }
    return (cachedMinute + Math.floor((time - cachedQuarter * quarterHourMs) / 60_000)) % 1440;
  };
}

/** True when a minute of the day lies within working hours (which may cross midnight). */
export function withinHours(minute: number, hours: WorkingHours): boolean {
  return hours.startMinute < hours.endMinute
    ? minute >= hours.startMinute && minute < hours.endMinute
    : minute >= hours.startMinute || minute < hours.endMinute;
}

/** Authenticated access outside the configured working hours: one alert per user per window. */
export function offHoursAccess(spec: RuleSpec | null, hours: WorkingHours | null): Rule | null {
  if (spec === null || hours === null) return null;
  const kind = 'off_hours_access';
  const minuteOf = localMinuteOf(hours.timeZone);
  return {
    kind,
    async onAudit(event, time, context) {
      const subject = event.actor.subject;
      if (event.category !== 'api' || subject === null || event.outcome.status === 401) return;
      if (withinHours(minuteOf(time), hours)) return;
      await context.raiseOnce(`${kind}:${subject}`, spec.windowMs, time, {
        kind,
        severity: 'low',
        subject,
        sourceIp: event.actor.sourceIp,
        summary: `access outside working hours (${hours.timeZone}); at most one alert per user per ${formatWindow(spec.windowMs)}`,
        details: { timeZone: hours.timeZone, ...(event.actor.role !== null && { role: event.actor.role }) },
        requestIds: [event.requestId],
      });
    },
  };
}
