import type { SchemaObject } from 'ajv';
import { fhirLimits } from './limits.js';
import { fhirPrimitiveTypes, primitiveSchema } from './primitives.js';
import type { FhirPrimitive } from './primitives.js';

/**
 * A small builder that turns FHIR element definitions into strict JSON
 * Schema, so that every datatype and resource gets the same FHIR JSON rules
 * (json.html): `additionalProperties: false`, no empty objects or arrays, a
 * `_name` twin for each primitive, choice types (`value[x]`) with at most one
 * type present.
 */

/** $id of the shared datatypes schema (RFC 2606 `.invalid`: never fetched). */
export const datatypesSchemaId = 'https://schemas.caduceus.invalid/fhir-r4/datatypes.json';

/** A reference to a datatype defined in the shared datatypes schema. */
export function typeRef(name: string): SchemaObject {
  return { $ref: `${datatypesSchemaId}#/$defs/${name}` };
}

interface Cardinality {
  /** Minimum cardinality 1. */
  readonly required?: boolean;
  /** Present when the element repeats: the cap on its items. */
  readonly max?: number;
}

/** A choice type: the suffix in the property name and the datatype (they differ for SimpleQuantity). */
export type ChoiceType = string | readonly [suffix: string, type: string];

/** One element of a datatype, backbone element or resource. */
export type FieldSpec =
  | (Cardinality & {
      readonly kind: 'primitive';
      readonly type: FhirPrimitive;
      readonly codes?: readonly string[];
      readonly noElement?: boolean;
    })
  | (Cardinality & { readonly kind: 'complex'; readonly type: string })
  | (Cardinality & { readonly kind: 'group'; readonly fields: FieldSpecs; readonly options?: ElementOptions })
  | { readonly kind: 'choice'; readonly types: readonly ChoiceType[]; readonly required?: boolean };

/** The elements of a type, by JSON property name. */
export type FieldSpecs = Readonly<Record<string, FieldSpec>>;

/** Type-level rules of an element. */
export interface ElementOptions {
  /** BackboneElement (and Resource): modifierExtension allowed. */
  readonly modifiers?: boolean;
  /** Extension: FHIR ext-1, a value[x] or nested extensions, not both. */
  readonly extension?: boolean;
  /** At least one of these properties must be present (e.g. Patient pat-1). */
  readonly requireAny?: readonly string[];
  /** JSON Schema `dependencies`: a property that needs others (FHIR invariants). */
  readonly dependencies?: Readonly<Record<string, readonly string[]>>;
  /** `id` is Element.id (string) unless a resource overrides it. */
  readonly omitElementId?: boolean;
}

/** The schema value of the `fhirElement` keyword (see keywords.ts). */
export interface FhirElementRules {
  readonly choices: readonly {
    readonly name: string;
    readonly properties: readonly string[];
    readonly required: boolean;
  }[];
  readonly primitiveLists: readonly string[];
  readonly extension: boolean;
  readonly requireAny: readonly string[];
}

/** A single primitive element. */
export function prim(
  type: FhirPrimitive,
  options: { required?: boolean; codes?: readonly string[]; noElement?: boolean } = {},
): FieldSpec {
  return { kind: 'primitive', type, ...options };
}
/** A repeating primitive element. */
export function primList(
  type: FhirPrimitive,
  max: number = fhirLimits.arrayItems,
  options: { required?: boolean; codes?: readonly string[] } = {},
): FieldSpec {
  return { kind: 'primitive', type, max, ...options };
}
/** A single datatype element. */
export function dt(type: string, options: { required?: boolean } = {}): FieldSpec {
  return { kind: 'complex', type, ...options };
}
/** A repeating datatype element. */
export function dtList(
  type: string,
  max: number = fhirLimits.arrayItems,
  options: { required?: boolean } = {},
): FieldSpec {
  return { kind: 'complex', type, max, ...options };
}
/** An inline element (BackboneElement of a resource, or an Element inside a datatype). */
export function group(fields: FieldSpecs, options: ElementOptions & Cardinality = {}): FieldSpec {
  const { required, max, ...rest } = options;
  return {
    kind: 'group',
    fields,
    options: rest,
    ...(required === undefined ? {} : { required }),
    ...(max === undefined ? {} : { max }),
  };
}
/** A choice element `name[x]`. */
export function choice(types: readonly ChoiceType[], options: { required?: boolean } = {}): FieldSpec {
  return { kind: 'choice', types, ...options };
}

function isPrimitive(type: string): type is FhirPrimitive {
  return (fhirPrimitiveTypes as readonly string[]).includes(type);
}

function listOf(items: SchemaObject, max: number): SchemaObject {
  return { type: 'array', minItems: 1, maxItems: max, items };
}

/** The `_name` twin of a primitive (json.html "Representing primitive elements"). */
function primitiveElement(nullable: boolean): SchemaObject {
  return {
    type: nullable ? ['object', 'null'] : 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { id: primitiveSchema('string'), extension: listOf(typeRef('Extension'), fhirLimits.arrayItems) },
  };
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

interface Building {
  readonly properties: Record<string, SchemaObject>;
  readonly required: string[];
  readonly choices: FhirElementRules['choices'][number][];
  readonly primitiveLists: string[];
}

function addPrimitive(b: Building, name: string, field: FieldSpec & { kind: 'primitive' }): void {
  const codes = field.codes === undefined ? {} : { codes: field.codes };
  if (field.max === undefined) {
    b.properties[name] = primitiveSchema(field.type, codes);
    if (field.noElement !== true) b.properties[`_${name}`] = primitiveElement(false);
    return;
  }
  b.properties[name] = listOf(primitiveSchema(field.type, { ...codes, nullable: true }), field.max);
  b.properties[`_${name}`] = listOf(primitiveElement(true), field.max);
  b.primitiveLists.push(name);
}

function addChoice(b: Building, name: string, field: FieldSpec & { kind: 'choice' }): void {
  const properties: string[] = [];
  for (const entry of field.types) {
    const [suffix, type] = typeof entry === 'string' ? [entry, entry] : entry;
    const property = `${name}${capitalize(suffix)}`;
    properties.push(property);
    if (isPrimitive(type)) {
      b.properties[property] = primitiveSchema(type);
      b.properties[`_${property}`] = primitiveElement(false);
    } else {
      b.properties[property] = typeRef(type);
    }
  }
  b.choices.push({ name, properties, required: field.required === true });
}

function addField(b: Building, name: string, field: FieldSpec): void {
  switch (field.kind) {
    case 'primitive':
      addPrimitive(b, name, field);
      break;
    case 'choice':
      addChoice(b, name, field);
      return;
    case 'complex':
      b.properties[name] = field.max === undefined ? typeRef(field.type) : listOf(typeRef(field.type), field.max);
      break;
    case 'group': {
      const inline = elementSchema(field.fields, field.options);
      b.properties[name] = field.max === undefined ? inline : listOf(inline, field.max);
      break;
    }
  }
  if (field.required === true) b.required.push(name);
}

/** The strict JSON Schema of an element with these fields. */
export function elementSchema(fields: FieldSpecs, options: ElementOptions = {}): SchemaObject {
  const b: Building = { properties: {}, required: [], choices: [], primitiveLists: [] };
  if (options.omitElementId !== true) b.properties['id'] = primitiveSchema('string');
  b.properties['extension'] = listOf(typeRef('Extension'), fhirLimits.arrayItems);
  if (options.modifiers === true)
    b.properties['modifierExtension'] = listOf(typeRef('Extension'), fhirLimits.arrayItems);
  for (const [name, field] of Object.entries(fields)) addField(b, name, field);
  const rules: FhirElementRules = {
    choices: b.choices,
    primitiveLists: b.primitiveLists,
    extension: options.extension === true,
    requireAny: options.requireAny ?? [],
  };
  const schema: SchemaObject = {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: b.properties,
    fhirElement: rules,
  };
  if (b.required.length > 0) schema['required'] = b.required;
  if (options.dependencies !== undefined) schema['dependencies'] = options.dependencies;
  return schema;
}
