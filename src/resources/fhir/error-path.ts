import type { ErrorObject } from 'ajv';
import { fhirFormatMessages } from './primitives.js';

/**
 * Turns a validator error into a FHIR-path-like field and a short English
 * message. Messages are built only from the schema (limits, allowed codes,
 * property names it defines), never from the value, so no PHI can leak into
 * an error response or a log line.
 */

/** A refused field and the safe reason. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

// A property name the client sent (unknown field) is shown only if it looks like a FHIR element name.
const elementName = /^_?[A-Za-z][A-Za-z0-9]{0,63}$/;

/** `Patient` + `/name/0/given/1` → `Patient.name[0].given[1]`. */
export function fhirPath(root: string, pointer: string): string {
  if (pointer === '') return root;
  let path = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^[0-9]+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return path;
}

function child(path: string, name: unknown): string {
  return typeof name === 'string' && elementName.test(name) ? `${path}.${name}` : `${path}.(unrecognized field)`;
}

function describeType(type: unknown): string {
  const names = String(type).split(',');
  const article = (t: string): string => (t === 'null' ? 'null' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
  return names.map(article).join(' or ');
}

function messageOf(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'Required field is missing.';
    case 'additionalProperties':
      return 'Unknown field.';
    case 'dependencies':
      return `Is required when ${String(p['property'])} is present.`;
    case 'type':
      return `Must be ${describeType(p['type'])}.`;
    case 'minLength':
      return 'Must not be empty.';
    case 'maxLength':
      return `Must be at most ${String(p['limit'])} characters long.`;
    case 'minItems':
      return 'Must not be an empty array.';
    case 'maxItems':
      return `Must have at most ${String(p['limit'])} items.`;
    case 'minProperties':
      return 'Must not be an empty object.';
    case 'minimum':
      return `Must be at least ${String(p['limit'])}.`;
    case 'maximum':
      return `Must be at most ${String(p['limit'])}.`;
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[]).filter((v) => v !== null).map(String);
      return `Must be one of: ${allowed.join(', ')}.`;
    }
    case 'const':
      return `Must be ${JSON.stringify(p['allowedValue'])}.`;
    case 'format':
      return fhirFormatMessages[String(p['format'])] ?? 'Has an invalid format.';
    case 'fhirElement':
    case 'fhirXhtml':
      return String(p['reason']);
    default:
      return 'Is invalid.';
  }
}

/** The field and message of the first schema error, with `root` as the path's head (the resource type). */
export function describeSchemaError(root: string, error: ErrorObject): FieldProblem {
  const at = fhirPath(root, error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: child(at, p['missingProperty']), message: messageOf(error) };
    case 'dependencies':
      return { field: child(at, p['missingProperty']), message: messageOf(error) };
    case 'additionalProperties':
      return { field: child(at, p['additionalProperty']), message: messageOf(error) };
    default:
      return { field: at, message: messageOf(error) };
  }
}
