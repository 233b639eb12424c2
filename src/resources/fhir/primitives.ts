import type { SchemaObject } from 'ajv';
import { isFhirDate, isFhirDateTime, isFhirInstant, isFhirTime } from './calendar.js';
import { fhirLimits } from './limits.js';

/**
 * FHIR R4 primitive types (datatypes.html#primitive) as JSON Schema, with an
 * Ajv format per string-valued type. Formats are plain functions rather than
 * `pattern` so that long values (markdown, base64) are checked in one linear
 * pass with no regex backtracking.
 */

/** The FHIR R4 primitive types a schema may use (xhtml is Narrative.div only). */
export type FhirPrimitive =
  | 'base64Binary'
  | 'boolean'
  | 'canonical'
  | 'code'
  | 'date'
  | 'dateTime'
  | 'decimal'
  | 'id'
  | 'instant'
  | 'integer'
  | 'markdown'
  | 'oid'
  | 'positiveInt'
  | 'string'
  | 'time'
  | 'unsignedInt'
  | 'uri'
  | 'url'
  | 'uuid';

/** Every primitive type, in the order FHIR lists them. */
export const fhirPrimitiveTypes: readonly FhirPrimitive[] = [
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
];

// FHIR R4 regexes, anchored. JS `\s` is wider than XML Schema's, which only
// makes code/uri stricter about exotic whitespace.
const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;
const codePattern = /^[^\s]+(\s[^\s]+)*$/;
const uriPattern = /^\S+$/;
const oidPattern = /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/;
const uuidPattern = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * FHIR R4 string: "SHOULD not contain Unicode character points below 32,
 * except for u0009, u000D and u000A"; we make that a SHALL (control characters
 * have no place in a record and are a log-injection vector), and refuse
 * whitespace-only values as empty (json.html: no empty values).
 */
function isFhirText(value: string): boolean {
  let hasContent = false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) return false;
    if (c === 127) return false;
    if (!hasContent && c !== 32 && c !== 9 && c !== 10 && c !== 13) hasContent = true;
  }
  return hasContent;
}

function isBase64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
}

/** FHIR R4 base64Binary (RFC 4648 §4), whitespace between characters allowed, padding only at the end. */
function isBase64(value: string): boolean {
  let count = 0;
  let padding = 0;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    if (c === 61) {
      padding += 1;
      if (padding > 2) return false;
    } else if (!isBase64Char(c) || padding > 0) {
      return false;
    }
    count += 1;
  }
  return count > 0 && count % 4 === 0;
}

/** The Ajv format of each string-valued primitive, by format name. */
export const fhirFormats: Readonly<Record<string, (value: string) => boolean>> = Object.freeze({
  'fhir-string': isFhirText,
  'fhir-markdown': isFhirText,
  'fhir-code': (v: string) => codePattern.test(v),
  'fhir-id': (v: string) => idPattern.test(v),
  'fhir-uri': (v: string) => uriPattern.test(v),
  'fhir-oid': (v: string) => oidPattern.test(v),
  'fhir-uuid': (v: string) => uuidPattern.test(v),
  'fhir-base64Binary': isBase64,
  'fhir-date': isFhirDate,
  'fhir-dateTime': isFhirDateTime,
  'fhir-instant': isFhirInstant,
  'fhir-time': isFhirTime,
});

/** Safe English description of each format, for error messages (never the value). */
export const fhirFormatMessages: Readonly<Record<string, string>> = Object.freeze({
  'fhir-string': 'Must contain visible text and no control characters.',
  'fhir-markdown': 'Must contain visible text and no control characters.',
  'fhir-code': 'Must be a FHIR code (no leading, trailing or repeated whitespace).',
  'fhir-id': 'Must be a FHIR id: 1 to 64 letters, digits, hyphens or dots.',
  'fhir-uri': 'Must be a URI without whitespace.',
  'fhir-oid': 'Must be an OID URI (urn:oid:…).',
  'fhir-uuid': 'Must be a lowercase UUID URI (urn:uuid:…).',
  'fhir-base64Binary': 'Must be base64-encoded data.',
  'fhir-date': 'Must be a calendar date as YYYY, YYYY-MM or YYYY-MM-DD.',
  'fhir-dateTime': 'Must be a calendar date (YYYY, YYYY-MM or YYYY-MM-DD), optionally with a time and a time zone.',
  'fhir-instant': 'Must be a calendar date and time to the second with a time zone.',
  'fhir-time': 'Must be a time as hh:mm:ss.',
});

const int32 = { min: -2_147_483_648, max: 2_147_483_647 } as const;

function textSchema(format: string, maxLength: number | undefined): SchemaObject {
  const schema: SchemaObject = { type: 'string', minLength: 1, format };
  if (maxLength !== undefined) schema['maxLength'] = maxLength;
  return schema;
}

function baseSchema(type: FhirPrimitive): SchemaObject {
  switch (type) {
    case 'boolean':
      return { type: 'boolean' };
    case 'decimal':
      return { type: 'number' };
    case 'integer':
      return { type: 'integer', minimum: int32.min, maximum: int32.max };
    case 'positiveInt':
      return { type: 'integer', minimum: 1, maximum: int32.max };
    case 'unsignedInt':
      return { type: 'integer', minimum: 0, maximum: int32.max };
    case 'string':
      return textSchema('fhir-string', fhirLimits.stringChars);
    case 'markdown':
      return textSchema('fhir-markdown', fhirLimits.markdownChars);
    case 'uri':
    case 'url':
    case 'canonical':
      return textSchema('fhir-uri', fhirLimits.stringChars);
    case 'id':
      return textSchema('fhir-id', fhirLimits.idChars);
    case 'base64Binary':
      return textSchema('fhir-base64Binary', undefined);
    case 'code':
    case 'oid':
    case 'uuid':
    case 'date':
    case 'dateTime':
    case 'instant':
    case 'time':
      return textSchema(`fhir-${type}`, fhirLimits.codeChars);
  }
}

/** The JSON Schema of one primitive value; `codes` restricts a code to a required binding. */
export function primitiveSchema(
  type: FhirPrimitive,
  options: { codes?: readonly string[]; nullable?: boolean } = {},
): SchemaObject {
  const schema = options.codes === undefined ? baseSchema(type) : { type: 'string', enum: [...options.codes] };
  // FHIR json.html: null only inside a primitive array whose `_` twin carries the value's extensions.
  if (options.nullable === true) {
    schema['type'] = [schema['type'] as string, 'null'];
    if (options.codes !== undefined) schema['enum'] = [...options.codes, null];
  }
  return schema;
}
