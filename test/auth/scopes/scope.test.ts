/**
 * SMART scope parsing (docs/access-control.md "SMART scopes"): v2 and v1
 * forms accepted exactly, everything else ignored and never widened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coveringContexts } from '../../../src/access/scopes/covers.js';
import { parseResourceScope, parseResourceScopes } from '../../../src/access/scopes/scope.js';
import { parseAmrList } from '../../../src/access/scopes/default-scopes.js';

function letters(token: string): string | null {
  const scope = parseResourceScope(token);
  return scope === null ? null : `${scope.context} ${scope.resourceType} ${[...scope.permissions].join('')}`;
}

test('v2 scopes: context, type and the cruds letters in order', () => {
  assert.equal(letters('patient/*.rs'), 'patient * rs');
  assert.equal(letters('user/Patient.cruds'), 'user Patient cruds');
  assert.equal(letters('system/Observation.c'), 'system Observation c');
  assert.equal(letters('user/MedicationRequest.s'), 'user MedicationRequest s');
});

test('v1 scopes: read is rs, write is cud, * is cruds', () => {
  assert.equal(letters('patient/Patient.read'), 'patient Patient rs');
  assert.equal(letters('user/*.write'), 'user * cud');
  assert.equal(letters('user/*.*'), 'user * cruds');
});

test('malformed and non-resource scopes are ignored, never widened', () => {
  for (const token of [
    'openid',
    'fhirUser',
    'launch/patient',
    'offline_access',
    'patient/*.rsc',
    'user/Patient.sr',
    'user/Patient.rr',
    'user/Patient.',
    'user/Patient.xyz',
    'Patient.read',
    'user/patient.read',
    'admin/*.cruds',
    'user/.rs',
    '/Patient.rs',
    'user/*',
    'patient/Observation.rs?category=laboratory',
    'user/Pat ient.rs',
    'user/Patient.READ',
    'user/Patient.cruds.x',
    'user//Patient.rs',
  ]) {
    assert.equal(parseResourceScope(token), null, token);
  }
  assert.deepEqual(
    parseResourceScopes(['openid', 'bogus', 'user/Patient.r']).map((scope) => scope.resourceType),
    ['Patient'],
  );
});

test('coverage: the letter each interaction needs, the type or *, per context', () => {
  const scopes = parseResourceScopes(['patient/*.r', 'user/Patient.s', 'system/Observation.c']);
  assert.deepEqual([...coveringContexts(scopes, 'Patient', 'read')], ['patient']);
  assert.deepEqual([...coveringContexts(scopes, 'Patient', 'vread')], ['patient']);
  assert.deepEqual([...coveringContexts(scopes, 'Patient', 'history')], ['patient']);
  assert.deepEqual([...coveringContexts(scopes, 'Patient', 'search')], ['user']);
  assert.deepEqual([...coveringContexts(scopes, 'Observation', 'create')], ['system']);
  assert.deepEqual([...coveringContexts(scopes, 'Condition', 'create')], []);
  assert.deepEqual([...coveringContexts(scopes, 'Patient', 'update')], []);
  assert.deepEqual([...coveringContexts(scopes, 'Patient', 'delete')], []);
});

test('--amr accepts registered RFC 8176 values only, each once', () => {
  assert.deepEqual(parseAmrList('pwd,otp'), ['pwd', 'otp']);
  assert.deepEqual(parseAmrList('hwk'), ['hwk']);
  for (const bad of ['', 'otp,otp', 'OTP', 'pwd, otp', 'magic', 'otp,'])
    assert.equal(parseAmrList(bad), undefined, bad);
});
