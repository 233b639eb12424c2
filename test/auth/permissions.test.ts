import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { grantFor, permissionMatrix } from '../../src/access/permissions.js';
import { roles } from '../../src/http/principal.js';

test('docs/access-control.md states exactly the permission matrix', async () => {
  const doc = await readFile(new URL('../../docs/access-control.md', import.meta.url), 'utf8');
  const documented = [
    ...doc.matchAll(/^\| (\w+) \| (\w+) \| ([a-z, ]+) \| (full|demographics) \| (any|own|assigned) \|$/gm),
  ]
    .map((match) => `${match[1]!}/${match[2]!}: ${match[3]!} ${match[4]!} ${match[5]!}`)
    .sort();
  const actual = Object.entries(permissionMatrix)
    .flatMap(([type, byRole]) =>
      Object.entries(byRole).map(
        ([role, grant]) => `${type}/${role}: ${grant.interactions.join(', ')} ${grant.view} ${grant.compartment}`,
      ),
    )
    .sort();
  assert.deepEqual(documented, actual);
});

test('deny by default: unknown resource types and unlisted roles have no grant', () => {
  assert.equal(grantFor('Practitioner', 'admin'), undefined);
  assert.equal(grantFor('patient', 'admin'), undefined, 'type names are exact');
  assert.equal(grantFor('Patient', 'device'), undefined);
  assert.equal(grantFor('Patient', 'auditor'), undefined);
  assert.equal(grantFor('Patient', 'billing')?.view, 'demographics');
  assert.ok(
    !grantFor('Patient', 'billing')!.interactions.includes('history'),
    'billing cannot read history (it would show clinical fields)',
  );
  for (const role of roles) {
    const grant = grantFor('Patient', role);
    if (role !== 'admin')
      assert.ok(grant === undefined || !grant.interactions.includes('delete'), `${role} cannot delete`);
  }
});

test('billing reaches demographics and coverage, nothing clinical; devices only create observations for bound patients', () => {
  assert.equal(grantFor('Coverage', 'billing')?.view, 'full');
  for (const type of ['Observation', 'Condition', 'MedicationRequest', 'AuditEvent'])
    assert.equal(grantFor(type, 'billing'), undefined, `billing on ${type}`);
  for (const type of Object.keys(permissionMatrix)) {
    const grant = grantFor(type, 'device');
    if (type === 'Observation')
      assert.deepEqual(grant, { interactions: ['create'], view: 'full', compartment: 'assigned' });
    else assert.equal(grant, undefined, `device on ${type}`);
  }
  for (const role of ['clinician', 'nurse'] as const) {
    for (const type of ['Patient', 'Coverage', 'Observation', 'Condition', 'MedicationRequest'])
      assert.equal(grantFor(type, role)?.compartment, 'assigned', `${role} on ${type}`);
  }
  assert.deepEqual(
    Object.entries(permissionMatrix.CareTeamAssignment ?? {}).map(([role]) => role),
    ['admin'],
  );
});
