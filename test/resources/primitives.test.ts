import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isFhirDate,
  isFhirDateTime,
  isFhirInstant,
  isFhirTime,
  parseFhirDate,
} from '../../src/resources/fhir/calendar.js';
import { fhirFormats } from '../../src/resources/fhir/primitives.js';

test('FHIR date: year, month and day precision, checked against the calendar', () => {
  for (const ok of ['1974', '1974-12', '1974-12-25', '2000-02-29', '2024-02-29', '0001-01-01', '9999-12-31'])
    assert.ok(isFhirDate(ok), ok);
  for (const bad of [
    '0000',
    '1974-13',
    '1974-00',
    '1999-00-10',
    '2023-02-29',
    '1900-02-29',
    '2023-02-30',
    '2023-04-31',
    '1974-12-32',
    '74',
    '1974-1-5',
    '1974/12/25',
    '1974-12-25T00:00:00Z',
    ' 1974',
  ]) {
    assert.equal(isFhirDate(bad), false, bad);
  }
  assert.deepEqual(parseFhirDate('1974-12'), { year: 1974, month: 12 });
});

test('FHIR dateTime: a time needs a full date and a zone', () => {
  for (const ok of [
    '2020',
    '2020-05',
    '2020-05-01',
    '2020-05-01T10:11:12Z',
    '2020-05-01T10:11:12.123+02:00',
    '2020-05-01T23:59:60-14:00',
    '2020-05-01T00:00:00+14:00',
  ]) {
    assert.ok(isFhirDateTime(ok), ok);
  }
  for (const bad of [
    '2020-05-01T10:11:12',
    '2020-05-01T10:11Z',
    '2020-05T10:11:12Z',
    '2020-02-30T10:11:12Z',
    '2020-05-01T24:00:00Z',
    '2020-05-01T10:11:12+15:00',
    '2020-05-01T10:11:12+14:30',
  ]) {
    assert.equal(isFhirDateTime(bad), false, bad);
  }
});

test('FHIR instant and time', () => {
  assert.ok(isFhirInstant('2015-02-07T13:28:17.239+02:00'));
  assert.equal(isFhirInstant('2015-02-07'), false);
  assert.equal(isFhirInstant('2015-02-30T13:28:17Z'), false);
  assert.ok(isFhirTime('23:59:59.5'));
  assert.equal(isFhirTime('24:00:00'), false);
  assert.equal(isFhirTime('10:00'), false);
});

test('string, code, id, uri, oid and base64Binary formats', () => {
  const f = (name: string, value: string): boolean => {
    const check = fhirFormats[name];
    assert.ok(check, name);
    return check(value);
  };
  assert.ok(f('fhir-string', 'Bénédicte\ttab\nline'));
  assert.equal(f('fhir-string', 'bell\u0007'), false);
  assert.equal(f('fhir-string', ' \n '), false);
  assert.ok(f('fhir-code', 'a code'));
  assert.equal(f('fhir-code', ' lead'), false);
  assert.equal(f('fhir-code', 'a  b'), false);
  assert.ok(f('fhir-id', 'abc-1.2'));
  assert.equal(f('fhir-id', 'a'.repeat(65)), false);
  assert.equal(f('fhir-id', 'a_b'), false);
  assert.equal(f('fhir-uri', 'http://e.org/a b'), false);
  assert.ok(f('fhir-oid', 'urn:oid:1.2.36.146.595.217.0.1'));
  assert.equal(f('fhir-oid', 'urn:oid:1.02'), false);
  assert.ok(f('fhir-base64Binary', 'QUJD RA=='));
  assert.equal(f('fhir-base64Binary', 'QUJDRA='), false);
  assert.equal(f('fhir-base64Binary', 'QU=DRA=='), false);
  assert.equal(f('fhir-base64Binary', 'QUJDRA==='), false);
});
