import { choice, dt, dtList, group, prim } from '../fhir/element.js';
import { fhirLimits } from '../fhir/limits.js';
import { domainResourceSchema } from '../fhir/resource.js';
import type { ResourceSchemaDefinition } from '../fhir/resource.js';

/** FHIR R4 AdministrativeGender (required binding). */
export const administrativeGenders = ['male', 'female', 'other', 'unknown'] as const;

/**
 * The strict schema of a FHIR R4 Patient (patient.html). Array caps come from
 * fhirLimits.
 */
export function patientSchema(): ResourceSchemaDefinition {
  return domainResourceSchema('Patient', {
    identifier: dtList('Identifier'),
    active: prim('boolean'),
    name: dtList('HumanName', fhirLimits.nameItems),
    telecom: dtList('ContactPoint'),
    gender: prim('code', { codes: administrativeGenders }),
    birthDate: prim('date'),
    deceased: choice(['boolean', 'dateTime']),
    address: dtList('Address'),
    maritalStatus: dt('CodeableConcept'),
    // A birth order: FHIR types it integer; 0 and negatives mean nothing, so positiveInt.
    multipleBirth: choice(['boolean', ['Integer', 'positiveInt']]),
    photo: dtList('Attachment', fhirLimits.photoItems),
    contact: group(
      {
        relationship: dtList('CodeableConcept'),
        name: dt('HumanName'),
        telecom: dtList('ContactPoint'),
        address: dt('Address'),
        gender: prim('code', { codes: administrativeGenders }),
        organization: dt('Reference'),
        period: dt('Period'),
        // FHIR pat-1: "SHALL at least contain a contact's details or a reference to an organization".
      },
      { modifiers: true, max: fhirLimits.arrayItems, requireAny: ['name', 'telecom', 'address', 'organization'] },
    ),
    communication: group(
      {
        language: dt('CodeableConcept', { required: true }),
        preferred: prim('boolean'),
      },
      { modifiers: true, max: fhirLimits.arrayItems },
    ),
    generalPractitioner: dtList('Reference'),
    managingOrganization: dt('Reference'),
    link: group(
      {
        other: dt('Reference', { required: true }),
        type: prim('code', { required: true, codes: ['replaced-by', 'replaces', 'refer', 'seealso'] }),
      },
      { modifiers: true, max: fhirLimits.arrayItems },
    ),
  });
}
