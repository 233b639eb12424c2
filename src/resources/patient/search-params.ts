import { formatTokenValue } from '../search/escape.js';
import type { ResourceSearchDefinition, SearchParameterDefinition } from '../search/types.js';
import { administrativeGenders } from './schema.js';

/**
 * Patient search (FHIR R4 patient.html#search, search.html), as the lead
 * documents it:
 *
 * - `name` matches any part of any HumanName: family, given, text, prefix,
 *   suffix. `family` matches HumanName.family only, `given` HumanName.given
 *   only.
 * - String matching is case- and accent-insensitive: values and queries are
 *   lowercased, NFKD-decomposed and stripped of combining marks; apostrophes
 *   are dropped (O'Brien = obrien) and any other punctuation separates words
 *   (Smith-Jones = smith jones). A one-word query of 3 or more characters
 *   matches any word that starts with it (`cha` and `chalmers` find
 *   Chalmers; `chloe` and `CHLO` find Chloé). A one- or two-character query
 *   matches a whole word only (`ch` does not find Chalmers; `du` finds
 *   "du Marché"). A query of several words must equal a whole value
 *   (`du marche` finds "du Marché"; `peter james` does not find the given
 *   names Peter and James, which are two values). Prefixes are indexed up
 *   to 32 characters and the first 16 words of a value.
 * - `birthdate` takes a date at year, month or day precision and matches
 *   stored birth dates at that precision or finer: `1974` matches 1974,
 *   1974-12 and 1974-12-25; `1974-12` matches 1974-12 and 1974-12-25 but not
 *   a stored 1974 (a year-only birth date is not known to fall in December);
 *   `1974-12-25` matches 1974-12-25 only. `eq` may prefix a date; other
 *   comparison prefixes (ge, lt, …) and impossible dates are refused.
 * - `identifier`: `system|value` matches that exact pair, `value` matches
 *   that value in any system, `system|` any value in that system, `|value`
 *   that value with no system. Case-sensitive. `\|`, `\,`, `\$` and `\\`
 *   escape literal characters.
 * - `gender`: exactly one of male, female, other, unknown.
 * - A repeated parameter means AND (`given=pet&given=jam`); a
 *   comma-separated value means OR (`gender=male,female`). An unknown
 *   parameter, a modifier (`name:exact`) or an empty value is refused.
 */

function objectsOf(value: unknown): Readonly<Record<string, unknown>>[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function nameParts(resource: Readonly<Record<string, unknown>>, parts: readonly string[]): string[] {
  return objectsOf(resource['name']).flatMap((name) => parts.flatMap((part) => stringsOf(name[part])));
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const parameters: readonly SearchParameterDefinition[] = Object.freeze([
  { name: 'name', kind: 'string', extract: (r) => nameParts(r, ['family', 'given', 'text', 'prefix', 'suffix']) },
  { name: 'family', kind: 'string', extract: (r) => nameParts(r, ['family']) },
  { name: 'given', kind: 'string', extract: (r) => nameParts(r, ['given']) },
  { name: 'birthdate', kind: 'date', extract: (r) => stringsOf(r['birthDate']) },
  {
    name: 'identifier',
    kind: 'token',
    extract: (r) =>
      objectsOf(r['identifier']).flatMap((identifier) => {
        const token = formatTokenValue(optionalString(identifier['system']), optionalString(identifier['value']));
        return token === undefined ? [] : [token];
      }),
  },
  { name: 'gender', kind: 'code', codes: administrativeGenders, extract: (r) => stringsOf(r['gender']) },
]);

/** The search parameters of Patient. */
export const patientSearch: ResourceSearchDefinition = Object.freeze({ resourceType: 'Patient', parameters });
