import type { SchemaObject } from 'ajv';
import { choice, datatypesSchemaId, dt, dtList, elementSchema, group, prim, primList } from './element.js';
import type { ChoiceType, FieldSpecs } from './element.js';
import { fhirLimits } from './limits.js';
import { fhirPrimitiveTypes } from './primitives.js';

/**
 * The FHIR R4 datatypes (datatypes.html, metadatatypes.html, narrative.html,
 * resource.html#Meta, dosage.html) as one strict JSON Schema document.
 * Required bindings become enums; the invariants JSON Schema can state are
 * kept (cited by their FHIR key). Not checked: per-1 (start <= end), ref-1
 * and the UCUM-system rules of Age/Count/Distance/Duration.
 */

/** FHIR R4 Extension.value[x]: every primitive and general-purpose datatype ("open type"). */
export const extensionValueTypes: readonly ChoiceType[] = [
  ...fhirPrimitiveTypes,
  'Address',
  'Age',
  'Annotation',
  'Attachment',
  'CodeableConcept',
  'Coding',
  'ContactPoint',
  'Count',
  'Distance',
  'Duration',
  'HumanName',
  'Identifier',
  'Money',
  'Period',
  'Quantity',
  'Range',
  'Ratio',
  'Reference',
  'SampledData',
  'Signature',
  'Timing',
  'ContactDetail',
  'Contributor',
  'DataRequirement',
  'Expression',
  'ParameterDefinition',
  'RelatedArtifact',
  'TriggerDefinition',
  'UsageContext',
  'Dosage',
  'Meta',
];

const simpleQuantity: ChoiceType = ['Quantity', 'SimpleQuantity'];
const quantityComparators = ['<', '<=', '>=', '>'] as const;
const timeUnits = ['s', 'min', 'h', 'd', 'wk', 'mo', 'a'] as const;

function quantity(withComparator: boolean): SchemaObject {
  const fields: FieldSpecs = {
    value: prim('decimal'),
    ...(withComparator ? { comparator: prim('code', { codes: quantityComparators }) } : {}),
    unit: prim('string'),
    system: prim('uri'),
    code: prim('code'),
  };
  // FHIR qty-3: "If a code for the unit is present, the system SHALL also be present".
  return elementSchema(fields, { dependencies: { code: ['system'] } });
}

function basicTypes(): Record<string, SchemaObject> {
  return {
    Coding: elementSchema({
      system: prim('uri'),
      version: prim('string'),
      code: prim('code'),
      display: prim('string'),
      userSelected: prim('boolean'),
    }),
    CodeableConcept: elementSchema({ coding: dtList('Coding'), text: prim('string') }),
    Identifier: elementSchema({
      use: prim('code', { codes: ['usual', 'official', 'temp', 'secondary', 'old'] }),
      type: dt('CodeableConcept'),
      system: prim('uri'),
      value: prim('string'),
      period: dt('Period'),
      assigner: dt('Reference'),
    }),
    HumanName: elementSchema({
      use: prim('code', { codes: ['usual', 'official', 'temp', 'nickname', 'anonymous', 'old', 'maiden'] }),
      text: prim('string'),
      family: prim('string'),
      given: primList('string', fhirLimits.namePartItems),
      prefix: primList('string', fhirLimits.namePartItems),
      suffix: primList('string', fhirLimits.namePartItems),
      period: dt('Period'),
    }),
    // FHIR cpt-2: "A system is required if a value is provided".
    ContactPoint: elementSchema(
      {
        system: prim('code', { codes: ['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other'] }),
        value: prim('string'),
        use: prim('code', { codes: ['home', 'work', 'temp', 'old', 'mobile'] }),
        rank: prim('positiveInt'),
        period: dt('Period'),
      },
      { dependencies: { value: ['system'] } },
    ),
    Address: elementSchema({
      use: prim('code', { codes: ['home', 'work', 'temp', 'old', 'billing'] }),
      type: prim('code', { codes: ['postal', 'physical', 'both'] }),
      text: prim('string'),
      line: primList('string', fhirLimits.namePartItems),
      city: prim('string'),
      district: prim('string'),
      state: prim('string'),
      postalCode: prim('string'),
      country: prim('string'),
      period: dt('Period'),
    }),
    Period: elementSchema({ start: prim('dateTime'), end: prim('dateTime') }),
    Reference: elementSchema({
      reference: prim('string'),
      type: prim('uri'),
      identifier: dt('Identifier'),
      display: prim('string'),
    }),
    // FHIR att-1: "If the Attachment has data, it SHALL have a contentType".
    Attachment: elementSchema(
      {
        contentType: prim('code'),
        language: prim('code'),
        data: prim('base64Binary'),
        url: prim('url'),
        size: prim('unsignedInt'),
        hash: prim('base64Binary'),
        title: prim('string'),
        creation: prim('dateTime'),
      },
      { dependencies: { data: ['contentType'] } },
    ),
  };
}

function quantityTypes(): Record<string, SchemaObject> {
  return {
    Quantity: quantity(true),
    // FHIR sqty-1: a SimpleQuantity has no comparator.
    SimpleQuantity: quantity(false),
    Age: quantity(true),
    Count: quantity(true),
    Distance: quantity(true),
    Duration: quantity(true),
    Money: elementSchema({ value: prim('decimal'), currency: prim('code') }),
    Range: elementSchema({ low: dt('SimpleQuantity'), high: dt('SimpleQuantity') }),
    // FHIR rat-1: numerator and denominator both present or both absent.
    Ratio: elementSchema(
      { numerator: dt('Quantity'), denominator: dt('Quantity') },
      { dependencies: { numerator: ['denominator'], denominator: ['numerator'] } },
    ),
    SampledData: elementSchema({
      origin: dt('SimpleQuantity', { required: true }),
      period: prim('decimal', { required: true }),
      factor: prim('decimal'),
      lowerLimit: prim('decimal'),
      upperLimit: prim('decimal'),
      dimensions: prim('positiveInt', { required: true }),
      data: prim('string'),
    }),
    Signature: elementSchema({
      type: dtList('Coding', fhirLimits.arrayItems, { required: true }),
      when: prim('instant', { required: true }),
      who: dt('Reference', { required: true }),
      onBehalfOf: dt('Reference'),
      targetFormat: prim('code'),
      sigFormat: prim('code'),
      data: prim('base64Binary'),
    }),
  };
}

function otherGeneralTypes(): Record<string, SchemaObject> {
  return {
    Annotation: elementSchema({
      author: choice(['Reference', 'string']),
      time: prim('dateTime'),
      text: prim('markdown', { required: true }),
    }),
    Timing: elementSchema(
      {
        event: primList('dateTime'),
        repeat: group({
          bounds: choice(['Duration', 'Range', 'Period']),
          count: prim('positiveInt'),
          countMax: prim('positiveInt'),
          duration: prim('decimal'),
          durationMax: prim('decimal'),
          durationUnit: prim('code', { codes: timeUnits }),
          frequency: prim('positiveInt'),
          frequencyMax: prim('positiveInt'),
          period: prim('decimal'),
          periodMax: prim('decimal'),
          periodUnit: prim('code', { codes: timeUnits }),
          dayOfWeek: primList('code', 7, { codes: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] }),
          timeOfDay: primList('time'),
          when: primList('code'),
          offset: prim('unsignedInt'),
        }),
        code: dt('CodeableConcept'),
      },
      { modifiers: true },
    ),
  };
}

function metadataTypes(): Record<string, SchemaObject> {
  return {
    ContactDetail: elementSchema({ name: prim('string'), telecom: dtList('ContactPoint') }),
    Contributor: elementSchema({
      type: prim('code', { required: true, codes: ['author', 'editor', 'reviewer', 'endorser'] }),
      name: prim('string', { required: true }),
      contact: dtList('ContactDetail'),
    }),
    DataRequirement: elementSchema({
      type: prim('code', { required: true }),
      profile: primList('canonical'),
      subject: choice(['CodeableConcept', 'Reference']),
      mustSupport: primList('string'),
      codeFilter: group(
        { path: prim('string'), searchParam: prim('string'), valueSet: prim('canonical'), code: dtList('Coding') },
        { max: fhirLimits.arrayItems },
      ),
      dateFilter: group(
        { path: prim('string'), searchParam: prim('string'), value: choice(['dateTime', 'Period', 'Duration']) },
        { max: fhirLimits.arrayItems },
      ),
      limit: prim('positiveInt'),
      sort: group(
        {
          path: prim('string', { required: true }),
          direction: prim('code', { required: true, codes: ['ascending', 'descending'] }),
        },
        { max: fhirLimits.arrayItems },
      ),
    }),
    Expression: elementSchema({
      description: prim('string'),
      name: prim('id'),
      language: prim('code', { required: true }),
      expression: prim('string'),
      reference: prim('uri'),
    }),
    ParameterDefinition: elementSchema({
      name: prim('code'),
      use: prim('code', { required: true, codes: ['in', 'out'] }),
      min: prim('integer'),
      max: prim('string'),
      documentation: prim('string'),
      type: prim('code', { required: true }),
      profile: prim('canonical'),
    }),
    RelatedArtifact: elementSchema({
      type: prim('code', {
        required: true,
        codes: [
          'documentation',
          'justification',
          'citation',
          'predecessor',
          'successor',
          'derived-from',
          'depends-on',
          'composed-of',
        ],
      }),
      label: prim('string'),
      display: prim('string'),
      citation: prim('markdown'),
      url: prim('url'),
      document: dt('Attachment'),
      resource: prim('canonical'),
    }),
    TriggerDefinition: elementSchema({
      type: prim('code', {
        required: true,
        codes: [
          'named-event',
          'periodic',
          'data-changed',
          'data-added',
          'data-modified',
          'data-removed',
          'data-accessed',
          'data-access-ended',
        ],
      }),
      name: prim('string'),
      timing: choice(['Timing', 'Reference', 'date', 'dateTime']),
      data: dtList('DataRequirement'),
      condition: dt('Expression'),
    }),
    UsageContext: elementSchema({
      code: dt('Coding', { required: true }),
      value: choice(['CodeableConcept', 'Quantity', 'Range', 'Reference'], { required: true }),
    }),
  };
}

function specialTypes(): Record<string, SchemaObject> {
  return {
    Dosage: elementSchema(
      {
        sequence: prim('integer'),
        text: prim('string'),
        additionalInstruction: dtList('CodeableConcept'),
        patientInstruction: prim('string'),
        timing: dt('Timing'),
        asNeeded: choice(['boolean', 'CodeableConcept']),
        site: dt('CodeableConcept'),
        route: dt('CodeableConcept'),
        method: dt('CodeableConcept'),
        doseAndRate: group(
          {
            type: dt('CodeableConcept'),
            dose: choice(['Range', simpleQuantity]),
            rate: choice(['Ratio', 'Range', simpleQuantity]),
          },
          { max: fhirLimits.arrayItems },
        ),
        maxDosePerPeriod: dt('Ratio'),
        maxDosePerAdministration: dt('SimpleQuantity'),
        maxDosePerLifetime: dt('SimpleQuantity'),
      },
      { modifiers: true },
    ),
    Meta: elementSchema({
      versionId: prim('id'),
      lastUpdated: prim('instant'),
      source: prim('uri'),
      profile: primList('canonical'),
      security: dtList('Coding'),
      tag: dtList('Coding'),
    }),
    Narrative: narrativeSchema(),
    // Extension.url is an attribute in XML, so it has no `_url` twin in JSON.
    Extension: elementSchema(
      { url: prim('uri', { required: true, noElement: true }), value: choice(extensionValueTypes) },
      { extension: true },
    ),
  };
}

function narrativeSchema(): SchemaObject {
  const schema = elementSchema({
    status: prim('code', { required: true, codes: ['generated', 'extensions', 'additional', 'empty'] }),
  });
  const properties = schema['properties'] as Record<string, SchemaObject>;
  // xhtml has no `_div` twin: it cannot carry extensions (json.html). Checked by the fhirXhtml keyword.
  properties['div'] = { type: 'string', minLength: 1, maxLength: fhirLimits.markdownChars, fhirXhtml: true };
  return { ...schema, required: ['status', 'div'] };
}

/** The shared datatypes schema document: every datatype under `$defs`. */
export function datatypesSchema(): SchemaObject {
  return {
    $id: datatypesSchemaId,
    $defs: { ...basicTypes(), ...quantityTypes(), ...otherGeneralTypes(), ...metadataTypes(), ...specialTypes() },
  };
}
