import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extensionValueTypes } from '../../src/resources/fhir/datatypes.js';
import { createResourceValidator } from '../../src/resources/fhir/validator.js';
import { patientSchema } from '../../src/resources/patient/schema.js';

const validator = createResourceValidator([patientSchema()]);
const instant = '2020-01-01T00:00:00Z';

// One minimal valid value per FHIR R4 Extension.value[x] type.
const samples: Record<string, unknown> = {
  base64Binary: 'QUJD',
  boolean: false,
  canonical: 'http://e.org/c',
  code: 'c',
  date: '2020',
  dateTime: instant,
  decimal: 1.5,
  id: 'a1',
  instant,
  integer: -5,
  markdown: '# hi',
  oid: 'urn:oid:1.2',
  positiveInt: 1,
  string: 's',
  time: '10:00:00',
  unsignedInt: 0,
  uri: 'urn:x',
  url: 'http://e.org',
  uuid: 'urn:uuid:0a1b2c3d-0000-4000-8000-000000000000',
  Address: { city: 'x' },
  Age: { value: 1 },
  Annotation: { text: 'x' },
  Attachment: { title: 'x' },
  CodeableConcept: { text: 'x' },
  Coding: { code: 'x' },
  ContactPoint: { system: 'phone', value: '1' },
  Count: { value: 1 },
  Distance: { value: 1 },
  Duration: { value: 1 },
  HumanName: { family: 'x' },
  Identifier: { value: 'x' },
  Money: { value: 1, currency: 'EUR' },
  Period: { start: '2020' },
  Quantity: { value: 1, comparator: '<' },
  Range: { low: { value: 1 } },
  Ratio: { numerator: { value: 1 }, denominator: { value: 2 } },
  Reference: { reference: 'Patient/1' },
  SampledData: { origin: { value: 0 }, period: 1, dimensions: 1 },
  Signature: { type: [{ code: 'x' }], when: instant, who: { reference: 'Practitioner/1' } },
  Timing: { event: ['2020'], repeat: { boundsDuration: { value: 1 }, dayOfWeek: ['mon'] } },
  ContactDetail: { name: 'x' },
  Contributor: { type: 'author', name: 'x' },
  DataRequirement: { type: 'Patient', sort: [{ path: 'a', direction: 'ascending' }] },
  Expression: { language: 'text/fhirpath', expression: '1' },
  ParameterDefinition: { use: 'in', type: 'string' },
  RelatedArtifact: { type: 'citation' },
  TriggerDefinition: { type: 'periodic', timingTiming: { event: ['2020'] } },
  UsageContext: { code: { code: 'x' }, valueCodeableConcept: { text: 'x' } },
  Dosage: { text: 'x', doseAndRate: [{ doseQuantity: { value: 1 } }] },
  Meta: { tag: [{ code: 'x' }] },
};

function withExtension(property: string, value: unknown): Record<string, unknown> {
  return { resourceType: 'Patient', extension: [{ url: 'http://example.org/ext', [property]: value }] };
}

test('Extension.value[x] covers the 50 FHIR R4 types', () => {
  assert.equal(extensionValueTypes.length, 50);
  assert.equal(Object.keys(samples).length, 50);
});

test('each value[x] type is accepted with a valid value', () => {
  for (const entry of extensionValueTypes) {
    const type = typeof entry === 'string' ? entry : entry[1];
    const property = `value${type.charAt(0).toUpperCase()}${type.slice(1)}`;
    assert.ok(Object.hasOwn(samples, type), type);
    const result = validator.validate('Patient', withExtension(property, samples[type]), { mode: 'create' });
    assert.deepEqual(result.ok ? 'ok' : result, 'ok', property);
  }
});

test('complex value[x] types are strict too', () => {
  const bad: [string, unknown, string][] = [
    ['valueQuantity', { value: 1, comparator: '~' }, 'Patient.extension[0].valueQuantity.comparator'],
    ['valueRange', { low: { value: 1, comparator: '<' } }, 'Patient.extension[0].valueRange.low.comparator'],
    ['valueRatio', { numerator: { value: 1 } }, 'Patient.extension[0].valueRatio.denominator'],
    ['valueQuantity', { value: 1, code: 'mg' }, 'Patient.extension[0].valueQuantity.system'],
    ['valueSignature', { type: [{ code: 'x' }], when: instant }, 'Patient.extension[0].valueSignature.who'],
    ['valueUsageContext', { code: { code: 'x' } }, 'Patient.extension[0].valueUsageContext.value[x]'],
    ['valueTiming', { repeat: { dayOfWeek: ['monday'] } }, 'Patient.extension[0].valueTiming.repeat.dayOfWeek[0]'],
    [
      'valueDosage',
      { doseAndRate: [{ doseRange: { low: { value: 1 } }, doseQuantity: { value: 1 } }] },
      'Patient.extension[0].valueDosage.doseAndRate[0].doseQuantity',
    ],
    ['valueMeta', { lastUpdated: '2020-01-01' }, 'Patient.extension[0].valueMeta.lastUpdated'],
    ['valueTime', '25:00:00', 'Patient.extension[0].valueTime'],
  ];
  for (const [property, value, field] of bad) {
    const result = validator.validate('Patient', withExtension(property, value), { mode: 'create' });
    assert.equal(result.ok, false, property);
    assert.equal(result.field, field, property);
  }
});

test('primitive value[x] may carry its own _value extensions, and counts as the one value', () => {
  const twin = { extension: [{ url: 'http://example.org/why', valueCode: 'masked' }] };
  const ok = validator.validate(
    'Patient',
    { resourceType: 'Patient', extension: [{ url: 'http://e.org/x', _valueString: twin }] },
    { mode: 'create' },
  );
  assert.equal(ok.ok, true);
  const two = validator.validate(
    'Patient',
    { resourceType: 'Patient', extension: [{ url: 'http://e.org/x', valueCode: 'a', _valueString: twin }] },
    { mode: 'create' },
  );
  assert.equal(two.ok, false);
  assert.equal(two.field, 'Patient.extension[0]._valueString');
});
