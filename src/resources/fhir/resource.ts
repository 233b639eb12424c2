import type { SchemaObject } from 'ajv';
import { dt, elementSchema, prim } from './element.js';
import type { FieldSpecs } from './element.js';

/** A resource type the validator knows: its name and its strict schema. */
export interface ResourceSchemaDefinition {
  readonly resourceType: string;
  readonly schema: SchemaObject;
}

/**
 * The schema of a FHIR R4 DomainResource (resource.html, domainresource.html)
 * with the given elements. `contained` is deliberately not accepted: every
 * resource is validated, access-checked, sealed and audited on its own, and a
 * contained resource would bypass all four.
 */
export function domainResourceSchema(resourceType: string, fields: FieldSpecs): ResourceSchemaDefinition {
  const base = elementSchema(
    {
      // Resource.id has no `_id` twin here: the server owns it.
      id: prim('id', { noElement: true }),
      meta: dt('Meta'),
      implicitRules: prim('uri'),
      language: prim('code'),
      text: dt('Narrative'),
      ...fields,
    },
    { modifiers: true, omitElementId: true },
  );
  const properties = base['properties'] as Record<string, SchemaObject>;
  const required = (base['required'] as string[] | undefined) ?? [];
  const schema: SchemaObject = {
    ...base,
    $id: `https://schemas.caduceus.invalid/fhir-r4/${resourceType}.json`,
    properties: { resourceType: { type: 'string', const: resourceType }, ...properties },
    required: ['resourceType', ...required],
  };
  return { resourceType, schema };
}
