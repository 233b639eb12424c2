/**
 * Care teams over HTTP (docs/access-control.md "Care teams"): the admin API
 * (admins only, MFA, strict schemas, envelope errors, audited) and what an
 * assignment grants a clinician or nurse: reads and writes on and off
 * assignment, searches limited to assigned patients with correct paging,
 * the creator assigned to what it creates, removal effective at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEvent } from '../../src/audit/event.js';
import { build, type TestApp } from '../helpers/app.js';
import { postgresSkip } from '../helpers/database.js';

type Reply = LightMyRequestResponse;
interface Assignment {
  id: string;
  subject: string;
  patient: string;
  assignedBy: string;
  assignedAt: string;
}
interface Bundle {
  entry?: { resource: { id: string } }[];
  link?: { relation: string; url: string }[];
}

const api = '/api/v1/care-team-assignments';
const base = '/api/v1/patients';

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function assertEnvelope(res: Reply, status: number, code: string): string {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<{ error: { code: string; message: string; requestId: string } }>();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(body.error.requestId, res.headers['x-request-id']);
  return body.error.message;
}

async function createPatient(h: TestApp, token: string, family: string): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth(token),
    payload: { resourceType: 'Patient', name: [{ family }], gender: 'female' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

async function assign(h: TestApp, admin: string, subject: string, patient: string): Promise<Assignment> {
  const res = await h.app.inject({ method: 'POST', url: api, headers: auth(admin), payload: { subject, patient } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<Assignment>();
}

/** Every id a search returns, following `next` links; also every page's raw body with its decoded cursors. */
async function searchAll(h: TestApp, token: string, url: string): Promise<{ ids: string[]; raw: string }> {
  const ids: string[] = [];
  let raw = '';
  let next: string | undefined = url;
  for (let pages = 0; next !== undefined && pages < 20; pages += 1) {
    const res: Reply = await h.app.inject({ method: 'GET', url: next, headers: auth(token) });
    assert.equal(res.statusCode, 200, res.body);
    const bundle = res.json<Bundle>();
    ids.push(...(bundle.entry ?? []).map((entry) => entry.resource.id));
    raw +=
      res.body +
      [...res.body.matchAll(/_cursor=([A-Za-z0-9_-]+)/g)]
        .map((match) => Buffer.from(match[1] ?? '', 'base64url').toString('utf8'))
        .join(' ');
    next = bundle.link?.find((link) => link.relation === 'next')?.url;
  }
  return { ids, raw };
}

test('the admin API: admins only, with MFA; assign, list with paging, remove; strict input; audited', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const patient = await createPatient(h, admin, 'Team');
  const other = await createPatient(h, admin, 'Team');

  assertEnvelope(await h.app.inject({ method: 'GET', url: api }), 401, 'AUTH_ERROR');
  for (const role of ['clinician', 'nurse', 'auditor', 'billing'] as const) {
    assertEnvelope(
      await h.app.inject({
        method: 'POST',
        url: api,
        headers: auth(await h.token(role)),
        payload: { subject: 'x', patient },
      }),
      403,
      'FORBIDDEN',
    );
  }
  // Care-team administration is sensitive: an admin who logged in with a password only is sent back for MFA.
  const passwordOnly = await h.token('admin', { amr: ['pwd'] });
  for (const request of [
    { method: 'POST' as const, url: api, payload: { subject: 'dr-x', patient } },
    { method: 'GET' as const, url: api },
  ]) {
    const res = await h.app.inject({ ...request, headers: auth(passwordOnly) });
    assertEnvelope(res, 401, 'MFA_REQUIRED');
    assert.match(String(res.headers['www-authenticate']), /^Bearer error="insufficient_user_authentication"/);
  }
  assert.deepEqual(await h.db.careTeam.patientsOf('dr-x'), [], 'the refused request assigned nothing');

  const created = await h.app.inject({
    method: 'POST',
    url: api,
    headers: auth(admin),
    payload: { subject: 'dr-x', patient },
  });
  assert.equal(created.statusCode, 201, created.body);
  const assignment = created.json<Assignment>();
  assert.deepEqual(
    { ...assignment, id: '', assignedAt: '' },
    { id: '', subject: 'dr-x', patient, assignedBy: 'test-admin', assignedAt: '' },
  );
  assert.equal(created.headers.location, `${api}/${assignment.id}`);
  const again = await h.app.inject({
    method: 'POST',
    url: api,
    headers: auth(admin),
    payload: { subject: 'dr-x', patient },
  });
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json(), assignment);
  await assign(h, admin, 'dr-x', other);
  await assign(h, admin, 'nurse-y', patient);

  const page1 = await h.app.inject({ method: 'GET', url: `${api}?subject=dr-x&_count=1`, headers: auth(admin) });
  assert.equal(page1.statusCode, 200, page1.body);
  const first = page1.json<{ assignments: Assignment[]; next: string | null }>();
  assert.equal(first.assignments.length, 1);
  assert.match(first.next ?? '', /^\/api\/v1\/care-team-assignments\?subject=dr-x&_count=1&_cursor=[A-Za-z0-9_-]+$/);
  const page2 = (await h.app.inject({ method: 'GET', url: first.next ?? '', headers: auth(admin) })).json<{
    assignments: Assignment[];
    next: string | null;
  }>();
  assert.equal(page2.next, null);
  assert.deepEqual(
    [...first.assignments, ...page2.assignments].map((row) => row.patient).sort(),
    [patient, other].sort(),
  );
  const byPatient = (
    await h.app.inject({ method: 'GET', url: `${api}?patient=${patient}`, headers: auth(admin) })
  ).json<{ assignments: Assignment[] }>();
  assert.deepEqual(byPatient.assignments.map((row) => row.subject).sort(), ['dr-x', 'nurse-y']);

  // Strict input: the envelope, the field named, nothing stored.
  const bad: [string, unknown][] = [
    ['missing subject', { patient }],
    ['extra field', { subject: 'dr-z', patient, role: 'admin' }],
    ['space in subject', { subject: 'dr z', patient }],
    ['malformed patient', { subject: 'dr-z', patient: 'a/b' }],
    ['array', [{ subject: 'dr-z', patient }]],
    ['number', { subject: 7, patient }],
  ];
  for (const [what, payload] of bad)
    assert.equal(
      (await h.app.inject({ method: 'POST', url: api, headers: auth(admin), payload: payload as object })).statusCode,
      400,
      what,
    );
  assert.match(
    assertEnvelope(
      await h.app.inject({
        method: 'POST',
        url: api,
        headers: auth(admin),
        payload: { subject: 'dr-z', patient: 'no-such-patient' },
      }),
      400,
      'VALIDATION_ERROR',
    ),
    /^patient: /,
  );
  assertEnvelope(
    await h.app.inject({
      method: 'POST',
      url: `${api}?force=1`,
      headers: auth(admin),
      payload: { subject: 'dr-z', patient },
    }),
    400,
    'VALIDATION_ERROR',
  );
  assertEnvelope(
    await h.app.inject({ method: 'GET', url: `${api}?role=clinician`, headers: auth(admin) }),
    400,
    'VALIDATION_ERROR',
  );
  assertEnvelope(
    await h.app.inject({ method: 'GET', url: `${api}?_cursor=AAAA`, headers: auth(admin) }),
    400,
    'VALIDATION_ERROR',
  );
  assert.deepEqual(await h.db.careTeam.patientsOf('dr-z'), []);
  // A deleted Patient takes no new assignments.
  assert.equal(
    (await h.app.inject({ method: 'DELETE', url: `${base}/${other}`, headers: auth(admin) })).statusCode,
    204,
  );
  assertEnvelope(
    await h.app.inject({
      method: 'POST',
      url: api,
      headers: auth(admin),
      payload: { subject: 'dr-z', patient: other },
    }),
    400,
    'VALIDATION_ERROR',
  );

  assert.equal(
    (await h.app.inject({ method: 'DELETE', url: `${api}/${assignment.id}`, headers: auth(admin) })).statusCode,
    204,
  );
  assertEnvelope(
    await h.app.inject({ method: 'DELETE', url: `${api}/${assignment.id}`, headers: auth(admin) }),
    404,
    'NOT_FOUND',
  );
  assertEnvelope(
    await h.app.inject({ method: 'DELETE', url: `${api}/not-an-id`, headers: auth(admin) }),
    400,
    'VALIDATION_ERROR',
  );
  assertEnvelope(
    await h.app.inject({ method: 'PUT', url: `${api}/${assignment.id}`, headers: auth(admin), payload: {} }),
    405,
    'METHOD_NOT_ALLOWED',
  );
  assert.equal(await h.db.careTeam.isAssigned('dr-x', patient), false);

  // Audited: the creation and the removal name who and which patient; the step-up refusal is there too.
  const events = (await h.db.audit.search({ resourceType: 'CareTeamAssignment', limit: 100 })).map(
    (row) => JSON.parse(row.payload) as AuditEvent,
  );
  const createdEvent = events.find(
    (event) =>
      event.action.interaction === 'create' &&
      event.outcome.status === 201 &&
      event.action.resourceId === assignment.id,
  );
  assert.deepEqual(createdEvent?.action.details, { subject: 'dr-x', patient, created: 'true' });
  assert.equal(createdEvent.actor.subject, 'test-admin');
  const removedEvent = events.find((event) => event.action.interaction === 'delete' && event.outcome.status === 204);
  assert.deepEqual(removedEvent?.action.details, { subject: 'dr-x', patient });
  assert.ok(events.some((event) => event.outcome.status === 401 && event.outcome.code === 'MFA_REQUIRED'));
});

test('a clinician reaches assigned patients only: reads, writes and searches on and off assignment', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const clinician = await h.token('clinician', { sub: 'dr-on' });
  const [mine1, theirs, mine2] = [
    await createPatient(h, admin, 'Ward'),
    await createPatient(h, admin, 'Ward'),
    await createPatient(h, admin, 'Ward'),
  ];
  await assign(h, admin, 'dr-on', mine1);
  await assign(h, admin, 'dr-on', mine2);

  for (const suffix of ['', '/_history/1', '/_history']) {
    assert.equal(
      (await h.app.inject({ method: 'GET', url: `${base}/${mine1}${suffix}`, headers: auth(clinician) })).statusCode,
      200,
      suffix,
    );
    for (const target of [theirs, '00000000-0000-4000-8000-000000000000']) {
      assertEnvelope(
        await h.app.inject({ method: 'GET', url: `${base}/${target}${suffix}`, headers: auth(clinician) }),
        403,
        'FORBIDDEN',
      );
    }
  }
  const update = await h.app.inject({
    method: 'PUT',
    url: `${base}/${theirs}`,
    headers: auth(clinician),
    payload: { resourceType: 'Patient', id: theirs, name: [{ family: 'Changed' }] },
  });
  assertEnvelope(update, 403, 'FORBIDDEN');
  assert.equal(
    (await h.app.inject({ method: 'GET', url: `${base}/${theirs}`, headers: auth(admin) })).headers.etag,
    'W/"1"',
    'the refused update wrote nothing',
  );
  assert.equal(
    (
      await h.app.inject({
        method: 'PUT',
        url: `${base}/${mine1}`,
        headers: auth(clinician),
        payload: { resourceType: 'Patient', id: mine1, name: [{ family: 'Ward' }], gender: 'male' },
      })
    ).statusCode,
    200,
  );

  // Search: only assigned patients, paged one at a time; no page, link or cursor names the other one.
  const found = await searchAll(h, clinician, `${base}?family=Ward&_count=1`);
  assert.deepEqual(found.ids.sort(), [mine1, mine2].sort());
  assert.ok(!found.raw.includes(theirs), 'nothing names the unassigned patient');
  assert.equal((await searchAll(h, admin, `${base}?family=Ward`)).ids.length, 3);

  // A nurse with no assignment reaches nothing: an empty Bundle, 403 on reads.
  const nurse = await h.token('nurse', { sub: 'nurse-off' });
  assert.deepEqual((await searchAll(h, nurse, `${base}?family=Ward`)).ids, []);
  assertEnvelope(
    await h.app.inject({ method: 'GET', url: `${base}/${mine1}`, headers: auth(nurse) }),
    403,
    'FORBIDDEN',
  );

  // The creator is assigned to what it creates; others are not.
  const created = await createPatient(h, clinician, 'Ward');
  assert.equal(
    (await h.app.inject({ method: 'GET', url: `${base}/${created}`, headers: auth(clinician) })).statusCode,
    200,
  );
  const rows = await h.db.careTeam.list({ patient: created, limit: 10 });
  assert.deepEqual(
    rows.map((row) => [row.subject, row.assignedBy]),
    [['dr-on', 'dr-on']],
  );
  assertEnvelope(
    await h.app.inject({
      method: 'GET',
      url: `${base}/${created}`,
      headers: auth(await h.token('clinician', { sub: 'dr-other' })),
    }),
    403,
    'FORBIDDEN',
  );

  // Removing the assignment takes effect on the next request.
  const [row] = await h.db.careTeam.list({ subject: 'dr-on', patient: mine1, limit: 1 });
  assert.equal(
    (await h.app.inject({ method: 'DELETE', url: `${api}/${row?.id ?? ''}`, headers: auth(admin) })).statusCode,
    204,
  );
  assertEnvelope(
    await h.app.inject({ method: 'GET', url: `${base}/${mine1}`, headers: auth(clinician) }),
    403,
    'FORBIDDEN',
  );
  assert.deepEqual((await searchAll(h, clinician, `${base}?family=Ward`)).ids.sort(), [mine2, created].sort());
});

test(
  'care-team reach on PostgreSQL: assigned reads and a limited, paged search',
  { skip: await postgresSkip() },
  async (t) => {
    const h = await build(t, { database: 'postgres' });
    const admin = await h.token('admin');
    const nurse = await h.token('nurse', { sub: 'nurse-pg' });
    const ids = [
      await createPatient(h, admin, 'Pg'),
      await createPatient(h, admin, 'Pg'),
      await createPatient(h, admin, 'Pg'),
    ];
    await assign(h, admin, 'nurse-pg', ids[0] ?? '');
    await assign(h, admin, 'nurse-pg', ids[2] ?? '');
    assert.equal(
      (await h.app.inject({ method: 'GET', url: `${base}/${ids[0] ?? ''}`, headers: auth(nurse) })).statusCode,
      200,
    );
    assertEnvelope(
      await h.app.inject({ method: 'GET', url: `${base}/${ids[1] ?? ''}`, headers: auth(nurse) }),
      403,
      'FORBIDDEN',
    );
    const found = await searchAll(h, nurse, `${base}?family=Pg&_count=1`);
    assert.deepEqual(found.ids.sort(), [ids[0], ids[2]].sort());
    assert.ok(!found.raw.includes(ids[1] ?? ''));
    // A nurse may not create patients (the matrix), assigned or not.
    assertEnvelope(
      await h.app.inject({ method: 'POST', url: base, headers: auth(nurse), payload: { resourceType: 'Patient' } }),
      403,
      'FORBIDDEN',
    );
  },
);
