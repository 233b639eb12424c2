import { ApiError } from '../../errors/index.js';
import type { ResourceDefinition } from '../engine/types.js';
import type { ResourceValidator } from '../fhir/validator.js';
import { buildIndex, IndexTooLargeError } from '../search/build-index.js';
import { parseSearchQuery } from '../search/parse-query.js';
import type { SearchTokenizer } from '../search/types.js';
import { patientSearch } from './search-params.js';

/**
 * Patient elements the `demographics` view keeps (billing): who the patient
 * is and how to reach them; never narrative, extensions, photos, contacts,
 * care providers or clinical status (docs/access-control.md).
 */
const demographicElements = [
  'identifier',
  'active',
  'name',
  'telecom',
  'gender',
  'birthDate',
  'address',
  'maritalStatus',
  'communication',
  'managingOrganization',
] as const;

/** Patient for the resource engine: FHIR R4 validation, search index, compartment. */
export function patientDefinition(validator: ResourceValidator, tokenizer: SearchTokenizer): ResourceDefinition {
  return {
    type: 'Patient',
    path: 'patients',
    validate: (body, mode) => validator.validate('Patient', body, mode),
    index(resource) {
      try {
        return buildIndex(patientSearch, tokenizer, resource);
      } catch (error) {
        if (error instanceof IndexTooLargeError)
          throw new ApiError('VALIDATION_ERROR', `Patient.${error.param}: too many searchable values`);
        throw error;
      }
    },
    parseSearch: (query) => parseSearchQuery(patientSearch, tokenizer, query),
    // FHIR compartmentdefinition-patient: a Patient is the root of its own compartment.
    patientOf: (resource) => resource.id ?? null,
    demographicElements,
  };
}
