import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResourceValidator } from '../../src/resources/fhir/validator.js';
import type { ValidationMode } from '../../src/resources/fhir/validator.js';
import { patientSchema } from '../../src/resources/patient/schema.js';

const validator = createResourceValidator([patientSchema()]);
const create: ValidationMode = { mode: 'create' };
const xhtml = 'http://www.w3.org/1999/xhtml';

// A distinctive value that must never appear in an error (PHI stand-in).
const SECRET = 'Zephyrine-4471';

function patient(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    name: [{ family: 'Chalmers', given: ['Peter'] }],
    birthDate: '1974-12-25',
    gender: 'male',
    ...extra,
  };
}

function narrative(div: string): Record<string, unknown> {
  return patient({ text: { status: 'generated', div } });
}

function nestedExtension(levels: number): Record<string, unknown> {
  let extension: Record<string, unknown> = { url: 'http://example.org/leaf', valueString: SECRET };
  for (let i = 1; i < levels; i += 1) extension = { url: 'http://example.org/branch', extension: [extension] };
  return extension;
}

interface BadCase {
  readonly name: string;
  readonly body: unknown;
  readonly field: string;
  readonly mode?: ValidationMode;
  /** The bad value, as text, when it is distinctive enough to search for in the message. */
  readonly secret?: string;
}

const cases: readonly BadCase[] = [
  {
    name: 'unknown top-level field',
    body: patient({ favouriteColour: SECRET }),
    field: 'Patient.favouriteColour',
    secret: SECRET,
  },
  {
    name: 'unknown field in a HumanName',
    body: patient({ name: [{ family: 'X', nickname: SECRET }] }),
    field: 'Patient.name[0].nickname',
    secret: SECRET,
  },
  {
    name: 'unknown field in an extension',
    body: patient({ extension: [{ url: 'http://e.org/x', valueString: 'a', note: SECRET }] }),
    field: 'Patient.extension[0].note',
    secret: SECRET,
  },
  {
    name: 'contained resources are not accepted',
    body: patient({ contained: [{ resourceType: 'Patient' }] }),
    field: 'Patient.contained',
  },
  { name: 'boolean given as a string', body: patient({ active: SECRET }), field: 'Patient.active', secret: SECRET },
  {
    name: 'family given as a number',
    body: patient({ name: [{ family: 987654321 }] }),
    field: 'Patient.name[0].family',
    secret: '987654321',
  },
  {
    name: 'given as a string instead of an array',
    body: patient({ name: [{ given: SECRET }] }),
    field: 'Patient.name[0].given',
    secret: SECRET,
  },
  {
    name: 'wrong type inside an array',
    body: patient({ name: [{ given: ['Peter', 424242] }] }),
    field: 'Patient.name[0].given[1]',
    secret: '424242',
  },
  {
    name: 'impossible date 2023-02-30',
    body: patient({ birthDate: '2023-02-30' }),
    field: 'Patient.birthDate',
    secret: '2023-02-30',
  },
  {
    name: 'impossible month 2023-13-01',
    body: patient({ birthDate: '2023-13-01' }),
    field: 'Patient.birthDate',
    secret: '2023-13-01',
  },
  {
    name: 'month zero 1999-00-10',
    body: patient({ birthDate: '1999-00-10' }),
    field: 'Patient.birthDate',
    secret: '1999-00-10',
  },
  {
    name: '29 February of a non-leap century',
    body: patient({ birthDate: '1900-02-29' }),
    field: 'Patient.birthDate',
    secret: '1900-02-29',
  },
  {
    name: 'date with a time',
    body: patient({ birthDate: '1974-12-25T10:00:00Z' }),
    field: 'Patient.birthDate',
    secret: '1974-12-25T10',
  },
  {
    name: 'dateTime with a time but no zone',
    body: patient({ deceasedDateTime: '2020-05-01T10:11:12' }),
    field: 'Patient.deceasedDateTime',
    secret: '10:11:12',
  },
  {
    name: 'dateTime with a time at month precision',
    body: patient({ deceasedDateTime: '2020-05T10:11:12Z' }),
    field: 'Patient.deceasedDateTime',
    secret: '10:11:12',
  },
  {
    name: 'impossible day in a dateTime',
    body: patient({ deceasedDateTime: '2021-04-31T10:11:12Z' }),
    field: 'Patient.deceasedDateTime',
    secret: '2021-04-31',
  },
  {
    name: 'negative multipleBirthInteger',
    body: patient({ multipleBirthInteger: -37 }),
    field: 'Patient.multipleBirthInteger',
    secret: '-37',
  },
  {
    name: 'fractional multipleBirthInteger',
    body: patient({ multipleBirthInteger: 1.25 }),
    field: 'Patient.multipleBirthInteger',
    secret: '1.25',
  },
  {
    name: 'deceasedBoolean and deceasedDateTime together',
    body: patient({ deceasedBoolean: true, deceasedDateTime: '2020-01-01' }),
    field: 'Patient.deceasedDateTime',
  },
  { name: 'gender "M"', body: patient({ gender: 'M' }), field: 'Patient.gender' },
  { name: 'gender outside the value set', body: patient({ gender: SECRET }), field: 'Patient.gender', secret: SECRET },
  {
    name: 'contact gender outside the value set',
    body: patient({ contact: [{ name: { family: 'X' }, gender: SECRET }] }),
    field: 'Patient.contact[0].gender',
    secret: SECRET,
  },
  {
    name: 'oversized string',
    body: patient({ name: [{ family: `${SECRET}${'x'.repeat(5000)}` }] }),
    field: 'Patient.name[0].family',
    secret: SECRET,
  },
  {
    name: 'oversized identifier array',
    body: patient({ identifier: Array.from({ length: 101 }, (_, i) => ({ value: `${SECRET}${i}` })) }),
    field: 'Patient.identifier',
    secret: SECRET,
  },
  {
    name: 'too many given names',
    body: patient({ name: [{ given: Array.from({ length: 11 }, () => SECRET) }] }),
    field: 'Patient.name[0].given',
    secret: SECRET,
  },
  {
    name: 'too many extensions',
    body: patient({ extension: Array.from({ length: 101 }, () => ({ url: 'http://e.org/x', valueString: SECRET })) }),
    field: 'Patient.extension',
    secret: SECRET,
  },
  { name: 'empty string', body: patient({ name: [{ family: '' }] }), field: 'Patient.name[0].family' },
  { name: 'whitespace-only string', body: patient({ name: [{ family: '   ' }] }), field: 'Patient.name[0].family' },
  {
    name: 'control character in a string',
    body: patient({ name: [{ family: `${SECRET}\u0007` }] }),
    field: 'Patient.name[0].family',
    secret: SECRET,
  },
  { name: 'empty array', body: patient({ telecom: [] }), field: 'Patient.telecom' },
  { name: 'empty object', body: patient({ maritalStatus: {} }), field: 'Patient.maritalStatus' },
  {
    name: 'element with only an id (ele-1)',
    body: patient({ maritalStatus: { id: SECRET } }),
    field: 'Patient.maritalStatus',
    secret: SECRET,
  },
  { name: 'null birthDate', body: patient({ birthDate: null }), field: 'Patient.birthDate' },
  {
    name: 'null in given without a _given entry',
    body: patient({ name: [{ given: [null, SECRET] }] }),
    field: 'Patient.name[0].given[0]',
    secret: SECRET,
  },
  {
    name: '_given of a different length',
    body: patient({ name: [{ given: ['A', SECRET], _given: [{ id: 'g1' }] }] }),
    field: 'Patient.name[0]._given',
    secret: SECRET,
  },
  {
    name: 'two value[x] in one extension',
    body: patient({ extension: [{ url: 'http://e.org/x', valueString: SECRET, valueCode: 'abc' }] }),
    field: 'Patient.extension[0].valueCode',
    secret: SECRET,
  },
  {
    name: 'extension with a value and nested extensions (ext-1)',
    body: patient({
      extension: [
        { url: 'http://e.org/x', valueString: SECRET, extension: [{ url: 'http://e.org/y', valueCode: 'a' }] },
      ],
    }),
    field: 'Patient.extension[0]',
    secret: SECRET,
  },
  {
    name: 'extension without a url',
    body: patient({ extension: [{ valueString: SECRET }] }),
    field: 'Patient.extension[0].url',
    secret: SECRET,
  },
  {
    name: 'valueInteger beyond 32 bits',
    body: patient({ extension: [{ url: 'http://e.org/x', valueInteger: 2_147_483_648 }] }),
    field: 'Patient.extension[0].valueInteger',
    secret: '2147483648',
  },
  {
    name: 'positiveInt zero',
    body: patient({ telecom: [{ system: 'phone', value: '1', rank: 0 }] }),
    field: 'Patient.telecom[0].rank',
  },
  {
    name: 'decimal sent as a string',
    body: patient({ extension: [{ url: 'http://e.org/x', valueDecimal: '3.14159' }] }),
    field: 'Patient.extension[0].valueDecimal',
    secret: '3.14159',
  },
  {
    name: 'uppercase uuid',
    body: patient({
      extension: [{ url: 'http://e.org/x', valueUuid: 'urn:uuid:AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE' }],
    }),
    field: 'Patient.extension[0].valueUuid',
    secret: 'AAAAAAAA',
  },
  {
    name: 'base64 with a bad character',
    body: patient({ photo: [{ contentType: 'image/png', data: 'QUJD*RA==' }] }),
    field: 'Patient.photo[0].data',
    secret: 'QUJD',
  },
  {
    name: 'photo data without contentType (att-1)',
    body: patient({ photo: [{ data: 'QUJD' }] }),
    field: 'Patient.photo[0].contentType',
  },
  {
    name: 'telecom value without system (cpt-2)',
    body: patient({ telecom: [{ value: SECRET }] }),
    field: 'Patient.telecom[0].system',
    secret: SECRET,
  },
  {
    name: 'contact with no details (pat-1)',
    body: patient({ contact: [{ gender: 'female' }] }),
    field: 'Patient.contact[0]',
  },
  {
    name: 'link without type',
    body: patient({ link: [{ other: { reference: 'Patient/1' } }] }),
    field: 'Patient.link[0].type',
  },
  {
    name: 'communication without language',
    body: patient({ communication: [{ preferred: true }] }),
    field: 'Patient.communication[0].language',
  },
  {
    name: 'narrative status outside the value set',
    body: patient({ text: { status: SECRET, div: `<div xmlns="${xhtml}">x</div>` } }),
    field: 'Patient.text.status',
    secret: SECRET,
  },
  {
    name: 'script in the narrative',
    body: narrative(`<div xmlns="${xhtml}"><script>alert('${SECRET}')</script></div>`),
    field: 'Patient.text.div',
    secret: SECRET,
  },
  {
    name: 'onclick attribute in the narrative',
    body: narrative(`<div xmlns="${xhtml}"><p onclick="steal('${SECRET}')">hi</p></div>`),
    field: 'Patient.text.div',
    secret: SECRET,
  },
  {
    name: 'javascript: href in the narrative',
    body: narrative(`<div xmlns="${xhtml}"><a href="javascript:alert('${SECRET}')">hi</a></div>`),
    field: 'Patient.text.div',
    secret: SECRET,
  },
  { name: 'client-supplied id on create', body: patient({ id: SECRET }), field: 'Patient.id', secret: SECRET },
  {
    name: 'meta.versionId on create',
    body: patient({ meta: { versionId: SECRET } }),
    field: 'Patient.meta.versionId',
    secret: SECRET,
  },
  {
    name: 'meta.lastUpdated on create',
    body: patient({ meta: { lastUpdated: '2012-05-29T23:45:32Z' } }),
    field: 'Patient.meta.lastUpdated',
    secret: '2012-05-29',
  },
  {
    name: 'mismatched id on update',
    body: patient({ id: SECRET }),
    mode: { mode: 'update', id: 'abc' },
    field: 'Patient.id',
    secret: SECRET,
  },
  { name: 'missing id on update', body: patient(), mode: { mode: 'update', id: 'abc' }, field: 'Patient.id' },
  {
    name: 'malformed id on update',
    body: patient({ id: 'has space' }),
    mode: { mode: 'update', id: 'has space' },
    field: 'Patient.id',
    secret: 'has space',
  },
  { name: 'wrong resourceType', body: { resourceType: SECRET }, field: 'Patient.resourceType', secret: SECRET },
  { name: 'missing resourceType', body: { name: [{ family: SECRET }] }, field: 'Patient.resourceType', secret: SECRET },
  { name: 'string body', body: SECRET, field: 'Patient', secret: SECRET },
  { name: 'null body', body: null, field: 'Patient' },
  { name: 'array body', body: [patient({ name: [{ family: SECRET }] })], field: 'Patient', secret: SECRET },
  {
    name: 'extension nested beyond the depth cap',
    body: patient({ extension: [nestedExtension(11)] }),
    field: `Patient${'.extension[0]'.repeat(10)}.extension`,
    secret: SECRET,
  },
];

test('at least 30 bad inputs are covered', () => {
  assert.ok(cases.length >= 30);
});

for (const c of cases) {
  test(`refuses: ${c.name}`, () => {
    const result = validator.validate('Patient', c.body, c.mode ?? create);
    assert.equal(result.ok, false);
    assert.equal(result.field, c.field);
    assert.match(result.message, /^[A-Z].{5,200}\.$/s);
    if (c.secret !== undefined) {
      assert.ok(!result.message.includes(c.secret), `message echoes the value: ${result.message}`);
      if (c.field !== 'Patient.favouriteColour') assert.ok(!result.field.includes(c.secret));
    }
  });
}

test('the same bodies minus the fault are accepted (the cases test what they claim)', () => {
  const good: unknown[] = [
    patient({ deceasedDateTime: '2020-05-01T10:11:12+02:00' }),
    patient({ multipleBirthInteger: 2 }),
    patient({ birthDate: '2000-02-29' }),
    patient({ birthDate: '1974' }),
    patient({ birthDate: '1974-12' }),
    patient({
      name: [{ given: [null, 'B'], _given: [{ extension: [{ url: 'http://e.org/x', valueCode: 'a' }] }, null] }],
    }),
    patient({ extension: [nestedExtension(10)] }),
    patient({ extension: [{ url: 'http://e.org/x', valueInteger: 2_147_483_647 }] }),
    patient({ extension: [{ url: 'http://e.org/x', valueUuid: 'urn:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' }] }),
    patient({ photo: [{ contentType: 'image/png', data: 'QUJD RA==' }] }),
    patient({ telecom: [{ system: 'phone', value: '1', rank: 1 }] }),
    patient({ contact: [{ organization: { reference: 'Organization/1' } }] }),
    patient({
      meta: { tag: [{ system: 'http://e.org', code: 't' }], profile: ['http://e.org/p'], source: 'http://e.org/s' },
    }),
    patient({ identifier: Array.from({ length: 100 }, (_, i) => ({ value: `v${i}` })) }),
    patient({ name: [{ family: 'x'.repeat(4096) }] }),
  ];
  for (const body of good) {
    const result = validator.validate('Patient', body, create);
    assert.deepEqual(result.ok ? 'ok' : result, 'ok', JSON.stringify(body).slice(0, 120));
  }
});

test('meta.versionId on update is accepted and dropped, client meta is kept', () => {
  const body = patient({
    id: 'p1',
    meta: { versionId: '7', lastUpdated: '2020-01-01T00:00:00Z', tag: [{ code: 'vip' }] },
  });
  const result = validator.validate('Patient', body, { mode: 'update', id: 'p1' });
  assert.ok(result.ok);
  assert.deepEqual(result.resource.meta, { tag: [{ code: 'vip' }] });
});

test('a body nested far beyond the depth cap is refused without exhausting the stack', () => {
  let deep: unknown = 'leaf';
  for (let i = 0; i < 200_000; i += 1) deep = [deep];
  const result = validator.validate('Patient', patient({ extension: deep }), create);
  assert.equal(result.ok, false);
  assert.match(result.message, /nested too deeply/);
});

test('two validators are independent (factory, not a singleton)', () => {
  const other = createResourceValidator([patientSchema()]);
  assert.notEqual(other, validator);
  assert.equal(other.validate('Patient', patient(), create).ok, true);
});
