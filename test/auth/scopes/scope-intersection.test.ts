/**
 * SMART scopes intersected with the role, over HTTP with real signed tokens
 * (docs/access-control.md "SMART scopes"): a request needs both the role's
 * grant and a covering scope; v1 and v2 forms; patient/ scopes reach the
 * token's patient only; system/ scopes only on a client's own token; bad
 * scope strings grant nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { build, type TestApp, type TokenOptions } from '../../helpers/app.js';
import type { Role } from '../../../src/http/principal.js';

type Reply = LightMyRequestResponse;
type Probe = 'read' | 'vread' | 'history' | 'search' | 'create' | 'update';

const base = '/api/v1/patients';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function body(family: string, id?: string): Record<string, unknown> {
  return { resourceType: 'Patient', ...(id !== undefined && { id }), name: [{ family }], gender: 'female' };
}

function request(probe: Probe, id: string, token: string): InjectOptions {
  const headers = auth(token);
  switch (probe) {
    case 'read':
      return { method: 'GET', url: `${base}/${id}`, headers };
    case 'vread':
      return { method: 'GET', url: `${base}/${id}/_history/1`, headers };
    case 'history':
      return { method: 'GET', url: `${base}/${id}/_history`, headers };
    case 'search':
      return { method: 'GET', url: `${base}?family=Scope`, headers };
    case 'create':
      return { method: 'POST', url: base, headers, payload: body('Scope') };
    case 'update':
      return { method: 'PUT', url: `${base}/${id}`, headers, payload: body('Scope', id) };
  }
}

const probes: readonly Probe[] = ['read', 'vread', 'history', 'search', 'create', 'update'];

/** Which probes answer 2xx for a role and token; the rest must be exactly 403 FORBIDDEN. */
async function allowed(h: TestApp, id: string, role: Role, options: TokenOptions): Promise<Probe[]> {
  const token = await h.token(role, options);
  const passed: Probe[] = [];
  for (const probe of probes) {
    const res: Reply = await h.app.inject(request(probe, id, token));
    if (res.statusCode < 300) {
      passed.push(probe);
      continue;
    }
    assert.equal(res.statusCode, 403, `${role} ${JSON.stringify(options.scopes)} ${probe}: ${res.body}`);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'FORBIDDEN');
  }
  return passed;
}

async function setup(t: Parameters<typeof build>[0]) {
  const h = await build(t, { env: { CADUCEUS_RATE_LIMIT: 'off' } });
  const admin = await h.token('admin');
  const create = async () => {
    const res = await h.app.inject({ method: 'POST', url: base, headers: auth(admin), payload: body('Scope') });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ id: string }>().id;
  };
  return { h, admin, create };
}

test('v2 scopes: each letter opens exactly its interactions, and only within the role', async (t) => {
  const { h, admin, create } = await setup(t);
  const id = await create();
  await h.app.inject({
    method: 'POST',
    url: '/api/v1/care-team-assignments',
    headers: auth(admin),
    payload: { subject: 'test-clinician', patient: id },
  });
  const clinician = (scopes: string[]) => allowed(h, id, 'clinician', { scopes });
  assert.deepEqual(await clinician(['user/Patient.r']), ['read', 'vread', 'history']);
  assert.deepEqual(await clinician(['user/Patient.s']), ['search']);
  assert.deepEqual(await clinician(['user/Patient.c']), ['create']);
  assert.deepEqual(await clinician(['user/Patient.u']), ['update']);
  assert.deepEqual(await clinician(['user/Patient.rs', 'user/Observation.cruds']), [
    'read',
    'vread',
    'history',
    'search',
  ]);
  assert.deepEqual(await clinician(['user/*.cruds']), [...probes]);
  assert.deepEqual(await clinician(['openid', 'fhirUser']), [], 'no resource scope: nothing');
  assert.deepEqual(await clinician([]), [], 'no scope at all: nothing');
  // The role still binds: billing's user/*.cruds reaches only read and search, nurse's no create.
  assert.deepEqual(await allowed(h, id, 'billing', { scopes: ['user/*.cruds'] }), ['read', 'search']);
  await h.app.inject({
    method: 'POST',
    url: '/api/v1/care-team-assignments',
    headers: auth(admin),
    payload: { subject: 'test-nurse', patient: id },
  });
  assert.deepEqual(await allowed(h, id, 'nurse', { scopes: ['user/*.cruds'] }), [
    'read',
    'vread',
    'history',
    'search',
    'update',
  ]);
  assert.deepEqual(await allowed(h, id, 'device', { scopes: ['user/*.cruds'] }), []);
});

test('v1 scopes: read is read and search, write is create and update, * is all', async (t) => {
  const { h, create } = await setup(t);
  const id = await create();
  assert.deepEqual(await allowed(h, id, 'admin', { scopes: ['user/Patient.read'] }), [
    'read',
    'vread',
    'history',
    'search',
  ]);
  assert.deepEqual(await allowed(h, id, 'admin', { scopes: ['user/*.write'] }), ['create', 'update']);
  assert.deepEqual(await allowed(h, id, 'admin', { scopes: ['user/*.*'] }), [...probes]);
});

test('bad scope strings are ignored: they grant nothing, and never more', async (t) => {
  const { h, create } = await setup(t);
  const id = await create();
  for (const scope of [
    'user/Patient.rsc',
    'Patient.read',
    'user/patient.read',
    'user/Patient.sr',
    'user/*',
    'admin/*.cruds',
    'user/Patient.rs?gender=female',
    'user/Patient.READ',
  ]) {
    assert.deepEqual(await allowed(h, id, 'admin', { scopes: [scope] }), [], scope);
  }
  // A bad scope beside a good one: the good one still counts, the bad one adds nothing.
  assert.deepEqual(await allowed(h, id, 'admin', { scopes: ['user/Patient.cruds.x', 'user/Patient.r'] }), [
    'read',
    'vread',
    'history',
  ]);
});

test('patient/ scopes reach the token patient only, intersected with the role', async (t) => {
  const { h, admin, create } = await setup(t);
  const [mine, other, unassigned] = [await create(), await create(), await create()];
  for (const patient of [mine, other]) {
    await h.app.inject({
      method: 'POST',
      url: '/api/v1/care-team-assignments',
      headers: auth(admin),
      payload: { subject: 'test-clinician', patient },
    });
  }
  // A clinician's launch token for `mine`: that patient only, though `other` is assigned too.
  const launch = await h.token('clinician', { scopes: ['launch/patient', 'patient/*.rs'], patient: mine });
  assert.equal((await h.app.inject(request('read', mine, launch))).statusCode, 200);
  for (const target of [other, unassigned])
    assert.equal((await h.app.inject(request('read', target, launch))).statusCode, 403);
  const search = await h.app.inject(request('search', mine, launch));
  assert.deepEqual(
    search.json<{ entry: { resource: { id: string } }[] }>().entry.map((entry) => entry.resource.id),
    [mine],
  );
  assert.equal((await h.app.inject(request('update', mine, launch))).statusCode, 403, 'rs: no update');
  assert.equal(
    (
      await h.app.inject(
        request('create', mine, await h.token('clinician', { scopes: ['patient/*.cruds'], patient: mine })),
      )
    ).statusCode,
    403,
    'a patient/ scope never opens a new compartment',
  );
  // The token's patient must be assigned as well: the role's reach still holds.
  const unassignedLaunch = await h.token('clinician', { scopes: ['patient/*.rs'], patient: unassigned });
  assert.equal((await h.app.inject(request('read', unassigned, unassignedLaunch))).statusCode, 403);
  // Without a patient claim, patient/ scopes count for nothing.
  assert.equal(
    (await h.app.inject(request('read', mine, await h.token('admin', { scopes: ['patient/*.rs'] })))).statusCode,
    403,
  );
  // An admin's patient/ token is limited to that patient too.
  const adminLaunch = await h.token('admin', { scopes: ['patient/Patient.read'], patient: mine });
  assert.equal((await h.app.inject(request('read', mine, adminLaunch))).statusCode, 200);
  assert.equal((await h.app.inject(request('read', other, adminLaunch))).statusCode, 403);
  // A patient with the CLI's v2 scopes and with a v1 scope: its own record, not another's.
  for (const scopes of [['openid', 'fhirUser', 'launch/patient', 'patient/*.rs'], ['patient/Patient.read']]) {
    const token = await h.token('patient', { scopes, patient: mine });
    assert.equal((await h.app.inject(request('read', mine, token))).statusCode, 200, scopes.join(' '));
    assert.equal((await h.app.inject(request('read', other, token))).statusCode, 403, scopes.join(' '));
  }
});

test("system/ scopes count only on a client's own token (client_credentials), user/ scopes only on a user's", async (t) => {
  const { h, create } = await setup(t);
  const id = await create();
  // sub = client_id: a backend client acting for itself.
  const backend = await h.token('admin', {
    sub: 'backend-7',
    clientId: 'backend-7',
    scopes: ['system/Patient.rs'],
    amr: [],
  });
  assert.equal((await h.app.inject(request('read', id, backend))).statusCode, 200);
  assert.equal((await h.app.inject(request('search', id, backend))).statusCode, 200);
  assert.equal((await h.app.inject(request('update', id, backend))).statusCode, 403);
  // The same scope on a user's token counts for nothing, and user/ scopes on a client's own token neither.
  assert.equal(
    (await h.app.inject(request('read', id, await h.token('admin', { scopes: ['system/Patient.rs'] })))).statusCode,
    403,
  );
  assert.equal(
    (
      await h.app.inject(
        request(
          'read',
          id,
          await h.token('admin', { sub: 'backend-7', clientId: 'backend-7', scopes: ['user/Patient.rs'] }),
        ),
      )
    ).statusCode,
    403,
  );
});
