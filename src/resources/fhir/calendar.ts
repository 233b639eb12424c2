/**
 * Calendar-aware checks of the FHIR R4 date, dateTime, instant and time
 * primitives (datatypes.html#primitive). The spec's regexes accept
 * 2023-02-30 and month 13 is refused only by the regex; a date that does not
 * exist in the Gregorian calendar is not a date, so each value is also checked
 * against the real month length.
 */

/** A FHIR date split into its parts, at year, month or day precision. */
export interface FhirDateParts {
  readonly year: number;
  readonly month?: number;
  readonly day?: number;
}

// FHIR R4 date regex: years 0001-9999, optional month, optional day.
const datePattern = /^([0-9]{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12][0-9]|3[01]))?)?$/;
// FHIR R4 time (and the time part of dateTime/instant): seconds may be 60 (leap second).
const timePart = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
// FHIR R4 timezone: Z or an offset of at most 14:00.
const zonePart = '(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const timePattern = new RegExp(`^${timePart}$`);
const dateTimePattern = new RegExp(`^([0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?)(?:T${timePart}${zonePart})?$`);
const instantPattern = new RegExp(`^([0-9]{4}-[0-9]{2}-[0-9]{2})T${timePart}${zonePart}$`);

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Parses a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) that exists in the calendar; undefined otherwise. */
export function parseFhirDate(value: string): FhirDateParts | undefined {
  const match = datePattern.exec(value);
  if (match === null) return undefined;
  const year = Number(match[1]);
  // FHIR R4: the year 0000 does not exist.
  if (year === 0) return undefined;
  if (match[2] === undefined) return { year };
  const month = Number(match[2]);
  if (match[3] === undefined) return { year, month };
  const day = Number(match[3]);
  if (day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** True for a valid FHIR date. */
export function isFhirDate(value: string): boolean {
  return parseFhirDate(value) !== undefined;
}

/** True for a valid FHIR dateTime: a date, with a time only at day precision and then with a zone. */
export function isFhirDateTime(value: string): boolean {
  const match = dateTimePattern.exec(value);
  if (match === null || match[1] === undefined) return false;
  const date = parseFhirDate(match[1]);
  if (date === undefined) return false;
  // FHIR R4 dateTime: "If hours and minutes are specified, a time zone SHALL be populated"
  // and a time needs a full date.
  return value.length === match[1].length || date.day !== undefined;
}

/** True for a valid FHIR instant: full date, time to the second and a zone. */
export function isFhirInstant(value: string): boolean {
  const match = instantPattern.exec(value);
  return match !== null && match[1] !== undefined && parseFhirDate(match[1]) !== undefined;
}

/** True for a valid FHIR time (hh:mm:ss with optional fraction, no zone). */
export function isFhirTime(value: string): boolean {
  return timePattern.test(value);
}
