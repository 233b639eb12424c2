import type { ResourceDefinition } from './engine/types.js';
import { createResourceValidator } from './fhir/validator.js';
import { patientDefinition } from './patient/definition.js';
import { patientSchema } from './patient/schema.js';
import { createPlainTokenizer } from './search/plain-tokenizer.js';
import type { SearchTokenizer } from './search/types.js';

/**
 * Every resource type the API serves. Compiles the validator once (about
 * half a second); call once per app. The tokenizer is the seam where keyed
 * blind indexes (src/keys/blind-index/) plug in.
 */
export function createResourceDefinitions(tokenizer: SearchTokenizer = createPlainTokenizer()): ResourceDefinition[] {
  const validator = createResourceValidator([patientSchema()]);
  return [patientDefinition(validator, tokenizer)];
}
