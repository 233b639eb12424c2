/**
 * Access control over HTTP (docs/access-control.md, DESIGN.md request path
 * step 6): the role matrix on /api/v1/patients, written out here from the
 * docs rather than read from src/access/permissions.ts, so the test holds the
 * code to the documented contract; billing's demographics view; the patient
 * compartment without an existence oracle; device and auditor shut out.
 * A refused interaction touches nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Role } from '../../src/http/principal.js';
import { errorCatalogue } from '../../src/errors/index.js';
import { build, type TestApp } from '../helpers/app.js';

type Reply = LightMyRequestResponse;
type Interaction = 'create' | 'read' | 'vread' | 'update' | 'delete' | 'search' | 'history';

const base = '/api/v1/patients';

/** docs/access-control.md "Roles to permissions", Patient rows; device and auditor have none. */
const documented: Readonly<Record<Role, readonly Interaction[]>> = {
  admin: ['read', 'vread', 'search', 'create', 'update', 'delete', 'history'],
  clinician: ['read', 'vread', 'search', 'create', 'update', 'history'],
  nurse: ['read', 'vread', 'search', 'update', 'history'],
  billing: ['read', 'search'],
  patient: ['read', 'vread', 'search', 'history'],
  device: [],
  auditor: [],
};

/** Delete last: it ends the target's life. */
const order: readonly Interaction[] = ['create', 'read', 'vread', 'search', 'history', 'update', 'delete'];
const successStatus: Readonly<Record<Interaction, number>> = {
  create: 201,
  read: 200,
  vread: 200,
  search: 200,
  history: 200,
  update: 200,
  delete: 204,
};

/** Demographic elements billing keeps (docs/access-control.md "view demographics"). */
const demographics = [
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
];

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** A Patient with every demographic element and every element billing must not see. */
function fullPatient(family: string): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Zq-narrative</div>' },
    extension: [{ url: 'http://example.org/fhir/StructureDefinition/clinical-note', valueString: 'Zq-extension' }],
    identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: '12345' }],
    active: true,
    name: [{ family, given: ['Peter'] }],
    telecom: [{ system: 'phone', value: '(03) 5555 6473', use: 'work' }],
    gender: 'male',
    birthDate: '1974-12-25',
    deceasedBoolean: false,
    address: [{ line: ['534 Erewhon St'], city: 'PleasantVille', postalCode: '3999' }],
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
    multipleBirthInteger: 2,
    photo: [{ contentType: 'image/png', data: 'QUJD' }],
    contact: [{ name: { family: 'Zq-contact' }, telecom: [{ system: 'phone', value: '0400 000 000' }] }],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] }, preferred: true }],
    generalPractitioner: [{ reference: 'Practitioner/zq-gp' }],
    managingOrganization: { reference: 'Organization/1' },
    link: [{ other: { reference: 'Patient/zq-link' }, type: 'seealso' }],
  };
}

/** Assigns a subject to a patient through the admin API. */
async function assign(h: TestApp, admin: string, subject: string, patient: string): Promise<void> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/api/v1/care-team-assignments',
    headers: auth(admin),
    payload: { subject, patient },
  });
  assert.equal(res.statusCode, 201, res.body);
}

async function createPatient(h: TestApp, admin: string, family: string): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: base, headers: auth(admin), payload: fullPatient(family) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

function requestFor(interaction: Interaction, id: string, family: string, token: string): InjectOptions {
  const headers = auth(token);
  switch (interaction) {
    case 'create':
      return { method: 'POST', url: base, headers, payload: fullPatient(`${family}-new`) };
    case 'read':
      return { method: 'GET', url: `${base}/${id}`, headers };
    case 'vread':
      return { method: 'GET', url: `${base}/${id}/_history/1`, headers };
    case 'search':
      return { method: 'GET', url: `${base}?family=${family}`, headers };
    case 'history':
      return { method: 'GET', url: `${base}/${id}/_history`, headers };
    case 'update':
      return { method: 'PUT', url: `${base}/${id}`, headers, payload: { ...fullPatient(family), id, active: false } };
    case 'delete':
      return { method: 'DELETE', url: `${base}/${id}`, headers };
  }
}

/** Exactly the 403 envelope under the response's request id. */
function assertForbidden(res: Reply, what: string): void {
  assert.equal(res.statusCode, 403, `${what}: ${res.body}`);
  assert.deepEqual(
    res.json(),
    {
      error: {
        code: 'FORBIDDEN',
        message: errorCatalogue.FORBIDDEN.message,
        requestId: String(res.headers['x-request-id']),
      },
    },
    what,
  );
}

interface Bundle {
  entry?: { resource: Record<string, unknown> }[];
  link?: { relation: string; url: string }[];
}

function idsOf(res: Reply): string[] {
  assert.equal(res.statusCode, 200, res.body);
  return (res.json<Bundle>().entry ?? []).map((entry) => String(entry.resource.id));
}

/** What the admin sees of a patient: its version, or the status of the read. */
async function adminView(h: TestApp, admin: string, id: string): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(admin) });
  return `${String(res.statusCode)} ${String(res.headers.etag)}`;
}

test('the documented role matrix holds over HTTP for every role and interaction', async (t) => {
  // Several hundred requests from one address and one admin token: above the default bursts, which this test is not about.
  const h = await build(t, { env: { CADUCEUS_RATE_LIMIT: 'ip=100000/1m,read=100000/1m,write=100000/1m' } });
  const admin = await h.token('admin');
  for (const role of Object.keys(documented) as Role[]) {
    await t.test(role, async () => {
      const family = `Matrix${role}`;
      const id = await createPatient(h, admin, family);
      const token = await h.token(role, role === 'patient' ? { patient: id } : {});
      // Clinicians and nurses reach only assigned patients (docs/access-control.md "Care teams"): assigned as an admin would.
      if (role === 'clinician' || role === 'nurse') await assign(h, admin, `test-${role}`, id);
      for (const interaction of order) {
        const what = `${role} ${interaction}`;
        const before = {
          view: await adminView(h, admin, id),
          found: idsOf(await h.app.inject(requestFor('search', id, `${family}-new`, admin))),
        };
        const res = await h.app.inject(requestFor(interaction, id, family, token));
        if (documented[role].includes(interaction)) {
          assert.equal(res.statusCode, successStatus[interaction], `${what}: ${res.body}`);
          continue;
        }
        assertForbidden(res, what);
        // Refused before storage: nothing was created, changed or deleted.
        assert.equal(await adminView(h, admin, id), before.view, `${what} changed nothing`);
        assert.deepEqual(
          idsOf(await h.app.inject(requestFor('search', id, `${family}-new`, admin))),
          before.found,
          `${what} created nothing`,
        );
      }
    });
  }
});

test('device and auditor tokens reach no Patient interaction, with or without a patient claim', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const id = await createPatient(h, admin, 'Shut');
  for (const role of ['device', 'auditor'] as const) {
    for (const token of [await h.token(role), await h.token(role, { patient: id })]) {
      for (const interaction of order)
        assertForbidden(await h.app.inject(requestFor(interaction, id, 'Shut', token)), `${role} ${interaction}`);
      assertForbidden(
        await h.app.inject({ method: 'GET', url: base, headers: auth(token) }),
        `${role} search without parameters`,
      );
    }
  }
  assert.equal(await adminView(h, admin, id), '200 W/"1"');
});

test('billing reads and searches demographics only: exactly the documented elements, nothing clinical', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const billing = await h.token('billing');
  const id = await createPatient(h, admin, 'Ledger');
  const full = fullPatient('Ledger');
  const expectedKeys = ['resourceType', 'id', 'meta', ...demographics].sort();

  const read = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(billing) });
  assert.equal(read.statusCode, 200, read.body);
  const seen = read.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(seen).sort(), expectedKeys);
  for (const key of demographics) assert.deepEqual(seen[key], full[key], `billing keeps ${key}`);
  assert.equal(seen.id, id);
  for (const secret of [
    'Zq-narrative',
    'Zq-extension',
    'Zq-contact',
    'zq-gp',
    'zq-link',
    'QUJD',
    'multipleBirth',
    'deceased',
  ]) {
    assert.ok(!read.body.includes(secret), `billing never sees ${secret}`);
  }
  // The admin sees everything, so the view is the role's, not the record's.
  const adminRead = await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(admin) });
  for (const key of [
    'text',
    'extension',
    'photo',
    'contact',
    'link',
    'generalPractitioner',
    'deceasedBoolean',
    'multipleBirthInteger',
  ]) {
    assert.deepEqual(adminRead.json<Record<string, unknown>>()[key], full[key], `admin sees ${key}`);
  }

  const found = await h.app.inject({ method: 'GET', url: `${base}?family=Ledger`, headers: auth(billing) });
  const entries = found.json<Bundle>().entry ?? [];
  assert.equal(entries.length, 1, found.body);
  assert.deepEqual(entries[0]?.resource, seen);
  assert.ok(!found.body.includes('Zq-'));

  // Versions and history would carry the clinical elements: billing has neither.
  assertForbidden(
    await h.app.inject({ method: 'GET', url: `${base}/${id}/_history/1`, headers: auth(billing) }),
    'billing vread',
  );
  assertForbidden(
    await h.app.inject({ method: 'GET', url: `${base}/${id}/_history`, headers: auth(billing) }),
    'billing history',
  );
});

test('a patient reaches its own Patient, every read form', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const own = await createPatient(h, admin, 'Self');
  const token = await h.token('patient', { patient: own });
  for (const url of [`${base}/${own}`, `${base}/${own}/_history/1`]) {
    const res = await h.app.inject({ method: 'GET', url, headers: auth(token) });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    assert.equal(res.json<{ id: string }>().id, own);
    assert.ok(res.body.includes('Zq-narrative'), 'the patient sees its full record');
  }
  const history = await h.app.inject({ method: 'GET', url: `${base}/${own}/_history`, headers: auth(token) });
  assert.equal(history.statusCode, 200, history.body);
  assert.equal(history.json<Bundle>().entry?.length, 1);
});

test('another patient and a nonexistent id answer the same 403: no existence oracle', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const own = await createPatient(h, admin, 'Self');
  const other = await createPatient(h, admin, 'Other');
  const deleted = await createPatient(h, admin, 'Removed');
  assert.equal(
    (await h.app.inject({ method: 'DELETE', url: `${base}/${deleted}`, headers: auth(admin) })).statusCode,
    204,
  );
  const token = await h.token('patient', { patient: own });
  const unbound = await h.token('patient');

  for (const [caller, bearer] of [
    ['bound', token],
    ['without a patient claim', unbound],
  ] as const) {
    for (const target of [other, deleted, 'no-such-patient', 'also-absent-42']) {
      for (const url of [
        `${base}/${target}`,
        `${base}/${target}/_history/1`,
        `${base}/${target}/_history/9`,
        `${base}/${target}/_history`,
      ]) {
        const res = await h.app.inject({ method: 'GET', url, headers: auth(bearer) });
        assertForbidden(
          res,
          `${caller} GET ${url === `${base}/${target}` ? 'read' : url.slice(base.length + target.length + 1)} of ${target === other ? 'another' : target === deleted ? 'a deleted' : 'a nonexistent'} patient`,
        );
        assert.equal(res.headers.etag, undefined);
        assert.equal(res.headers['last-modified'], undefined);
      }
    }
  }
  // The unbound patient token reaches nothing, not even the record its subject might be.
  assertForbidden(await h.app.inject({ method: 'GET', url: `${base}/${own}`, headers: auth(unbound) }), 'unbound read');
});

test('a patient search returns only its own record, whatever it asks for', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const own = await createPatient(h, admin, 'Shared');
  await createPatient(h, admin, 'Shared');
  await createPatient(h, admin, 'Elsewhere');
  const token = await h.token('patient', { patient: own });
  for (const query of ['', '?family=Shared', '?gender=male', '?birthdate=1974-12-25']) {
    assert.deepEqual(
      idsOf(await h.app.inject({ method: 'GET', url: `${base}${query}`, headers: auth(token) })),
      [own],
      query,
    );
  }
  assert.deepEqual(
    idsOf(await h.app.inject({ method: 'GET', url: `${base}?family=Elsewhere`, headers: auth(token) })),
    [],
  );
  // The admin, for contrast, finds all three.
  assert.equal(
    idsOf(await h.app.inject({ method: 'GET', url: `${base}?gender=male`, headers: auth(admin) })).length,
    3,
  );
  // A patient token without a patient claim has no compartment: its searches are refused like its reads.
  const unbound = await h.token('patient');
  assertForbidden(
    await h.app.inject({ method: 'GET', url: `${base}?family=Shared`, headers: auth(unbound) }),
    'unbound search',
  );
});

test('a patient search page says nothing about other patients: not their number, not their ids', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const others: string[] = [];
  for (let index = 0; index < 3; index += 1) others.push(await createPatient(h, admin, 'Paged'));
  const own = await createPatient(h, admin, 'Paged');
  const token = await h.token('patient', { patient: own });
  const pages: string[] = [];
  let url: string | undefined = `${base}?family=Paged&_count=1`;
  while (url !== undefined && pages.length < 10) {
    const res: Reply = await h.app.inject({ method: 'GET', url, headers: auth(token) });
    assert.equal(res.statusCode, 200, res.body);
    // Cursors are opaque base64url: decode them too, or a foreign id hides in plain sight.
    const cursors = [...res.body.matchAll(/_cursor=([A-Za-z0-9_-]+)/g)].map((match) =>
      Buffer.from(match[1] ?? '', 'base64url').toString('utf8'),
    );
    pages.push(`${res.body}\n${cursors.join('\n')}`);
    url = res.json<Bundle>().link?.find((link) => link.relation === 'next')?.url;
  }
  for (const other of others) assert.ok(!pages.some((page) => page.includes(other)), 'no page names another patient');
  assert.equal(pages.length, 1, 'one page: the number of other matches is not revealed');
  assert.deepEqual(
    (JSON.parse(pages[0]?.split('\n')[0] ?? '{}') as Bundle).entry?.map((entry) => entry.resource.id),
    [own],
  );
});

test('a patient paging the history of a deleted patient gets the same 403 as for one that never existed', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const own = await createPatient(h, admin, 'Self');
  const deleted = await createPatient(h, admin, 'Removed');
  assert.equal(
    (await h.app.inject({ method: 'DELETE', url: `${base}/${deleted}`, headers: auth(admin) })).statusCode,
    204,
  );
  const token = await h.token('patient', { patient: own });
  for (const target of [deleted, 'no-such-patient']) {
    const res = await h.app.inject({ method: 'GET', url: `${base}/${target}/_history?_count=1`, headers: auth(token) });
    assertForbidden(res, `history page of ${target === deleted ? 'a deleted' : 'a nonexistent'} patient`);
    assert.ok(!res.body.includes(deleted));
  }
});
