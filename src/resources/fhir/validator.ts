import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { datatypesSchema } from './datatypes.js';
import { describeSchemaError, fhirPath } from './error-path.js';
import { fhirElementKeyword, fhirXhtmlKeyword } from './keywords.js';
import { fhirFormats } from './primitives.js';
import type { ResourceSchemaDefinition } from './resource.js';
import { checkServerOwned, withoutServerMeta } from './server-owned.js';
import type { ValidationMode } from './server-owned.js';
import { checkStructure } from './structure.js';

export type { ValidationMode } from './server-owned.js';

/** A FHIR resource body that passed validation (id and meta typed, as the schema guarantees). */
export interface FhirResource {
  readonly resourceType: string;
  readonly id?: string;
  readonly meta?: { readonly versionId?: string; readonly lastUpdated?: string; readonly [element: string]: unknown };
  readonly [element: string]: unknown;
}

/**
 * The outcome of validating one body. `field` is a FHIR-path-like location
 * (`Patient.name[0].given[1]`); `message` is a short English sentence that
 * never repeats the submitted value.
 */
export type ValidationResult =
  | { readonly ok: true; readonly resource: FhirResource }
  | { readonly ok: false; readonly field: string; readonly message: string };

/** Strict FHIR R4 validation of the resource types it was built with. */
export interface ResourceValidator {
  /** The resource types this validator accepts. */
  readonly resourceTypes: readonly string[];
  validate(resourceType: string, body: unknown, mode: ValidationMode): ValidationResult;
}

function createAjv(): Ajv {
  const ajv = new Ajv({
    strict: true,
    allErrors: false,
    allowUnionTypes: true,
    // Our messages come from error-path.ts; Ajv's own are never shown.
    messages: false,
    // Never consult Object.prototype for a property the body did not send.
    ownProperties: true,
  });
  for (const [name, validate] of Object.entries(fhirFormats)) ajv.addFormat(name, { type: 'string', validate });
  ajv.addKeyword(fhirElementKeyword());
  ajv.addKeyword(fhirXhtmlKeyword());
  ajv.addSchema(datatypesSchema());
  return ajv;
}

function isJsonObject(body: unknown): body is Readonly<Record<string, unknown>> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

function refuse(field: string, message: string): ValidationResult {
  return { ok: false, field, message };
}

function validateWith(
  check: ValidateFunction,
  resourceType: string,
  body: unknown,
  mode: ValidationMode,
): ValidationResult {
  if (!isJsonObject(body)) return refuse(resourceType, 'The body must be a JSON object.');
  if (!Object.hasOwn(body, 'resourceType')) return refuse(`${resourceType}.resourceType`, 'Required field is missing.');
  if (body['resourceType'] !== resourceType)
    return refuse(`${resourceType}.resourceType`, `Must be "${resourceType}".`);
  const owned = checkServerOwned(resourceType, body, mode);
  if (owned !== undefined) return refuse(owned.field, owned.message);
  const structure = checkStructure(body);
  if (structure !== undefined) return refuse(fhirPath(resourceType, structure.pointer), structure.reason);
  if (!check(body)) {
    const error = check.errors?.[0];
    if (error === undefined) return refuse(resourceType, 'Is invalid.');
    const problem = describeSchemaError(resourceType, error);
    return refuse(problem.field, problem.message);
  }
  const resource = body as FhirResource;
  return { ok: true, resource: mode.mode === 'update' ? withoutServerMeta(resource) : resource };
}

/**
 * Compiles the schemas of these resource types once; call once per app and
 * pass the validator down (no module-level singleton).
 */
export function createResourceValidator(resources: readonly ResourceSchemaDefinition[]): ResourceValidator {
  const ajv = createAjv();
  const compiled = new Map<string, ValidateFunction>();
  for (const { resourceType, schema } of resources) compiled.set(resourceType, ajv.compile(schema));
  return {
    resourceTypes: [...compiled.keys()],
    validate(resourceType, body, mode) {
      const check = compiled.get(resourceType);
      if (check === undefined) return refuse('resourceType', 'This resource type is not supported.');
      return validateWith(check, resourceType, body, mode);
    },
  };
}
