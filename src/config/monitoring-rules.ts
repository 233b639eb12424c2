import { CaduceusError } from '../errors/index.js';
import type { AlertKind } from './alert-kinds.js';

/**
 * Thresholds and windows of the detection rules (docs/monitoring.md), and
 * the parsers of their two settings. Pure: src/config/load.ts calls these and
 * turns a RuleSettingError into a ConfigError naming the setting.
 */

/** A rule's tuning: alert when `threshold` is reached within `windowMs`; at most one alert per key per window. */
export interface RuleSpec {
  readonly threshold: number;
  readonly windowMs: number;
}

/** Every rule by the alert kind it raises; null turns a rule off. */
export type RuleSpecs = Readonly<Record<AlertKind, RuleSpec | null>>;

/** Working hours in a named IANA zone; access outside them raises `off_hours_access`. */
export interface WorkingHours {
  /** Minutes after local midnight; start may be after end (a night shift crossing midnight). */
  readonly startMinute: number;
  readonly endMinute: number;
  readonly timeZone: string;
}

/** What a setting value got wrong; the message never repeats the value. */
export class RuleSettingError extends CaduceusError {
  override readonly name = 'RuleSettingError';
  readonly code = 'MONITORING_RULE_INVALID';
  readonly operatorSafe = true;
}

/** `count`: `N/WINDOW`; `window`: `WINDOW` only (threshold 1); `switch`: `on` only. All accept `off`. */
type Shape = 'count' | 'window' | 'switch';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

/** Defaults, documented in docs/monitoring.md (keep the two in step). */
export const defaultRuleSpecs: Readonly<Record<AlertKind, { readonly shape: Shape; readonly spec: RuleSpec }>> = {
  failed_login_burst_account: { shape: 'count', spec: { threshold: 5, windowMs: 5 * minute } },
  failed_login_burst_ip: { shape: 'count', spec: { threshold: 20, windowMs: 5 * minute } },
  patient_snooping: { shape: 'count', spec: { threshold: 50, windowMs: hour } },
  bulk_read: { shape: 'count', spec: { threshold: 1000, windowMs: 10 * minute } },
  off_hours_access: { shape: 'window', spec: { threshold: 1, windowMs: hour } },
  new_network: { shape: 'window', spec: { threshold: 1, windowMs: 30 * day } },
  repeated_forbidden: { shape: 'count', spec: { threshold: 10, windowMs: 5 * minute } },
  rate_limit_storm: { shape: 'count', spec: { threshold: 100, windowMs: minute } },
  integrity_error: { shape: 'switch', spec: { threshold: 1, windowMs: 0 } },
  breaker_open: { shape: 'window', spec: { threshold: 1, windowMs: 5 * minute } },
};

const units: Readonly<Record<string, number>> = { s: 1000, m: minute, h: hour, d: day };
const maxWindowMs = 400 * day;

function parseWindow(raw: string, rule: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(raw);
  const ms = match === null ? Number.NaN : Number(match[1]) * (units[match[2] ?? ''] ?? Number.NaN);
  if (!(ms >= 1000 && ms <= maxWindowMs))
    throw new RuleSettingError(`${rule}: the window must be a number with s, m, h or d, from 1s to 400d`);
  return ms;
}

function parseSpec(raw: string, rule: AlertKind): RuleSpec | null {
  if (raw === 'off') return null;
  const { shape, spec } = defaultRuleSpecs[rule];
  switch (shape) {
    case 'switch':
      if (raw !== 'on') throw new RuleSettingError(`${rule}: must be on or off`);
      return spec;
    case 'window':
      return { threshold: 1, windowMs: parseWindow(raw, rule) };
    case 'count': {
      const [count = '', window = '', ...extra] = raw.split('/');
      if (extra.length > 0 || !raw.includes('/') || !/^\d{1,7}$/.test(count) || Number(count) < 1)
        throw new RuleSettingError(`${rule}: must be N/WINDOW (N from 1) or off`);
      return { threshold: Number(count), windowMs: parseWindow(window, rule) };
    }
  }
}

function isRuleName(name: string): name is AlertKind {
  return Object.hasOwn(defaultRuleSpecs, name);
}

/**
 * Parses `kind=spec,kind=spec` over the defaults, e.g.
 * `patient_snooping=30/1h,bulk_read=off,new_network=90d`.
 */
export function parseRuleSpecs(raw: string): RuleSpecs {
  const specs = Object.fromEntries(
    Object.entries(defaultRuleSpecs).map(([name, entry]) => [name, entry.spec]),
  ) as Record<AlertKind, RuleSpec | null>;
  for (const part of raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')) {
    const [name = '', value = ''] = part.split('=', 2).map((item) => item.trim());
    if (!isRuleName(name))
      throw new RuleSettingError(`names an unknown rule (known: ${Object.keys(defaultRuleSpecs).join(', ')})`);
    specs[name] = parseSpec(value, name);
  }
  return specs;
}

function minuteOfDay(raw: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(raw);
  if (match === null)
    throw new RuleSettingError('must be HH:MM-HH:MM, optionally followed by a space and an IANA time zone');
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Parses `07:00-19:00` or `07:00-19:00 Europe/Berlin` (zone default UTC); '' means no working hours. */
export function parseWorkingHours(raw: string): WorkingHours | null {
  const trimmed = raw.trim();
  if (trimmed === '') return null;
  const [range = '', timeZone = 'UTC', ...rest] = trimmed.split(/\s+/);
  const [start = '', end = '', ...more] = range.split('-');
  if (rest.length > 0 || more.length > 0)
    throw new RuleSettingError('must be HH:MM-HH:MM, optionally followed by a space and an IANA time zone');
  const startMinute = minuteOfDay(start);
  const endMinute = minuteOfDay(end);
  if (startMinute === endMinute) throw new RuleSettingError('start and end must differ');
  try {
    // Intl knows the IANA zones of the runtime's ICU; an unknown zone throws RangeError.
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new RuleSettingError('names an unknown time zone');
  }
  return { startMinute, endMinute, timeZone };
}
