import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResourceValidator } from '../../src/resources/fhir/validator.js';
import { patientSchema } from '../../src/resources/patient/schema.js';

// Unmodified HL7 FHIR R4 (4.0.1) Patient examples (CC0), vendored from hl7.fhir.r4.examples (fixtures/hl7-r4-examples/README.md).
const folder = join(import.meta.dirname, 'fixtures', 'hl7-r4-examples');

function examples(): { file: string; body: Record<string, unknown> }[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, body: JSON.parse(readFileSync(join(folder, file), 'utf8')) as Record<string, unknown> }));
}

function withoutServerFields(body: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(body);
  delete copy['id'];
  delete copy['meta'];
  return copy;
}

const validator = createResourceValidator([patientSchema()]);

test('the fixture folder holds the 11 HL7 Patient examples', () => {
  assert.equal(examples().length, 11);
});

test('every HL7 example validates on create once id and meta are removed', () => {
  for (const { file, body } of examples()) {
    const result = validator.validate('Patient', withoutServerFields(body), { mode: 'create' });
    assert.deepEqual(result.ok ? 'ok' : result, 'ok', file);
  }
});

test('every HL7 example as sent (with its id) is refused on create, naming Patient.id', () => {
  for (const { file, body } of examples()) {
    const result = validator.validate('Patient', body, { mode: 'create' });
    assert.equal(result.ok, false, file);
    assert.equal(result.field, 'Patient.id', file);
  }
});

test('every HL7 example validates on update with its own id; stale meta.lastUpdated is dropped', () => {
  for (const { file, body } of examples()) {
    const id = body['id'];
    assert.equal(typeof id, 'string', file);
    const result = validator.validate('Patient', body, { mode: 'update', id: id as string });
    assert.equal(result.ok, true, file);
    assert.equal(result.resource.id, id, file);
    assert.equal(result.resource.meta?.lastUpdated, undefined, file);
  }
});

test('the returned resource is the validated body (nothing added, nothing dropped on create)', () => {
  const [first] = examples();
  assert.ok(first);
  const body = withoutServerFields(first.body);
  const result = validator.validate('Patient', body, { mode: 'create' });
  assert.ok(result.ok);
  assert.deepEqual(result.resource, body);
});

test('an unsupported resource type is refused without touching the body', () => {
  const result = validator.validate('Observation', { resourceType: 'Observation' }, { mode: 'create' });
  assert.deepEqual(result, { ok: false, field: 'resourceType', message: 'This resource type is not supported.' });
  assert.deepEqual(validator.resourceTypes, ['Patient']);
});
