/**
 * Patient CRUD over HTTP (README "The API", FHIR R4 http.html): create, read,
 * versioned update with If-Match, tombstone delete with history, the error
 * envelope of docs/errors.md, the write race of engine.ts (seal outside the
 * transaction, re-read/re-seal/retry on a lost race), on SQLite and PostgreSQL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setImmediate } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { identitySealer } from '../../src/keys/identity-sealer.js';
import type { SealContext, Sealer } from '../../src/keys/ports.js';
import { createResourceEngine, type ResourceEngine } from '../../src/resources/engine/engine.js';
import type { ResourceDefinition } from '../../src/resources/engine/types.js';
import { createResourceDefinitions } from '../../src/resources/index.js';
import { build, type TestApp } from '../helpers/app.js';
import { postgresSkip } from '../helpers/database.js';

type Json = Record<string, unknown>;
type Reply = LightMyRequestResponse;
interface Envelope {
  error: { code: string; message: string; requestId: string };
}
interface Bundle {
  resourceType: string;
  type: string;
  link?: { relation: string; url: string }[];
  entry: Json[];
}
type Stored = Json & { id: string; meta: { versionId: string; lastUpdated: string } };

const base = '/api/v1/patients';
/** HL7's own Patient examples, vendored in the repository (test/resources/fixtures/hl7-r4-examples/README.md). */
const examplesDir = fileURLToPath(new URL('../resources/fixtures/hl7-r4-examples/', import.meta.url));
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function patient(family: string, extra: Json = {}): Json {
  return {
    resourceType: 'Patient',
    name: [{ family, given: ['Ann'] }],
    gender: 'female',
    birthDate: '1974-12-25',
    ...extra,
  };
}

/** A client for one app and one role. */
function client(h: TestApp, token: string) {
  const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
  return {
    post: (payload: unknown) =>
      h.app.inject({ method: 'POST', url: base, headers: headers(), payload: payload as Json }),
    get: (path: string) =>
      h.app.inject({ method: 'GET', url: path.startsWith('/') ? path : `${base}/${path}`, headers: headers() }),
    put: (id: string, payload: Json, ifMatch?: string) =>
      h.app.inject({
        method: 'PUT',
        url: `${base}/${id}`,
        headers: headers(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
        payload,
      }),
    del: (id: string) => h.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: headers() }),
  };
}

/** Asserts the exact envelope of docs/errors.md, optionally the field named and values never echoed. */
function assertError(
  res: Reply,
  status: number,
  code: string,
  options: { field?: string; secrets?: readonly string[] } = {},
): string {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json<Envelope>();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'requestId']);
  assert.equal(body.error.code, code);
  assert.match(body.error.requestId, /^[0-9a-f]{32}$/);
  assert.equal(body.error.requestId, res.headers['x-request-id']);
  if (options.field !== undefined) assert.ok(body.error.message.startsWith(`${options.field}: `), body.error.message);
  for (const secret of options.secrets ?? []) assert.ok(!body.error.message.includes(secret), `echoed ${secret}`);
  return body.error.message;
}

/** Asserts a resource response: status, FHIR content type, version headers and meta; returns the body. */
function assertResource(res: Reply, status: number, version: number): Stored {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['content-type'], 'application/fhir+json; charset=utf-8');
  assert.equal(res.headers['etag'], `W/"${version}"`);
  const body = res.json<Stored>();
  assert.equal(body.meta.versionId, String(version));
  assert.equal(new Date(body.meta.lastUpdated).toISOString(), body.meta.lastUpdated);
  assert.equal(res.headers['last-modified'], new Date(body.meta.lastUpdated).toUTCString());
  return body;
}

async function create(c: ReturnType<typeof client>, body: Json): Promise<Stored> {
  const res = await c.post(body);
  const created = assertResource(res, 201, 1);
  assert.equal(res.headers['location'], `${base}/${created.id}`);
  return created;
}

function historyOf(res: Reply): Bundle {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/fhir+json; charset=utf-8');
  const bundle = res.json<Bundle>();
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'history');
  return bundle;
}

test('create assigns id and meta, keeps client meta, and reads back identically', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  const clientMeta = {
    security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    tag: [{ system: 'http://example.org/tags', code: 'vip' }],
    profile: ['http://hl7.org/fhir/StructureDefinition/Patient'],
  };
  const sent = patient('Chalmers', { meta: clientMeta });
  const before = Date.now();
  const created = await create(c, sent);
  assert.match(created.id, uuid);
  assert.ok(
    Date.parse(created.meta.lastUpdated) >= before - 1000 && Date.parse(created.meta.lastUpdated) <= Date.now(),
  );
  assert.deepEqual(created, {
    ...sent,
    id: created.id,
    meta: { ...clientMeta, versionId: '1', lastUpdated: created.meta.lastUpdated },
  });

  assert.deepEqual(assertResource(await c.get(created.id), 200, 1), created);
  assert.deepEqual(assertResource(await c.get(`${created.id}/_history/1`), 200, 1), created);
  assert.notEqual((await create(c, patient('Chalmers'))).id, created.id);
});

test('create refuses server-owned id and meta.versionId/lastUpdated, naming the field, and stores nothing', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  assertError(await c.post(patient('Ids', { id: 'zqx-chosen-id' })), 400, 'VALIDATION_ERROR', {
    field: 'Patient.id',
    secrets: ['zqx-chosen-id'],
  });
  assertError(await c.post(patient('Ids', { meta: { versionId: '77' } })), 400, 'VALIDATION_ERROR', {
    field: 'Patient.meta.versionId',
  });
  assertError(
    await c.post(patient('Ids', { meta: { lastUpdated: '2001-01-01T00:00:00Z' } })),
    400,
    'VALIDATION_ERROR',
    {
      field: 'Patient.meta.lastUpdated',
      secrets: ['2001-01-01'],
    },
  );
  assert.deepEqual((await c.get(base)).json<Bundle>().entry, []);
});

test('read: unknown id is 404, malformed ids are 400 VALIDATION_ERROR, always the envelope', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  const admin = client(h, await h.token('admin'));
  for (const path of [
    '00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-000000000000/_history/1',
    '00000000-0000-4000-8000-000000000000/_history',
  ]) {
    assertError(await admin.get(path), 404, 'NOT_FOUND');
    // A clinician reaches only assigned patients: an unknown id answers as an unassigned one (docs/access-control.md, no existence oracle).
    assertError(await c.get(path), 403, 'FORBIDDEN');
  }
  const long = 'a'.repeat(65);
  assertError(await c.get(long), 400, 'VALIDATION_ERROR', { secrets: [long] });
  assertError(await c.get('bad$id'), 400, 'VALIDATION_ERROR', { secrets: ['bad$id'] });
  assertError(await c.get('bad%24id'), 400, 'VALIDATION_ERROR', { secrets: ['bad'] }); // the message names params.id only
  const created = await create(c, patient('Vread'));
  assertError(await c.get(`${created.id}/_history/2`), 404, 'NOT_FOUND');
  assertError(await c.get(`${created.id}/_history/0`), 400, 'VALIDATION_ERROR');
  // Unknown query parameters are refused, never silently dropped.
  assertError(await c.get(`${created.id}/_history?_since=2020-01-01`), 400, 'VALIDATION_ERROR', {
    secrets: ['2020-01-01'],
  });
  assertError(await c.get(`${created.id}?_elements=name`), 400, 'VALIDATION_ERROR', { secrets: ['name'] });
  assertError(await c.get(`${created.id}/_history/1?_pretty=true`), 400, 'VALIDATION_ERROR');
});

test('update: versions, id checks, If-Match, and no update-as-create', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  const created = await create(c, patient('Before'));
  const { id } = created;

  // A client sends back what it read; the stale meta is replaced, not kept.
  const v2 = assertResource(await c.put(id, { ...created, name: [{ family: 'After' }] }), 200, 2);
  assert.deepEqual(v2, {
    ...patient('After'),
    name: [{ family: 'After' }],
    id,
    meta: { versionId: '2', lastUpdated: v2.meta.lastUpdated },
  });
  assert.deepEqual(assertResource(await c.get(id), 200, 2), v2);

  assertError(
    await c.put(id, patient('Other', { id: '00000000-0000-4000-8000-000000000000' })),
    400,
    'VALIDATION_ERROR',
    { field: 'Patient.id' },
  );
  assertError(await c.put(id, patient('NoId')), 400, 'VALIDATION_ERROR', { field: 'Patient.id' });
  assertError(await c.put(id, patient('Stale', { id }), 'W/"1"'), 412, 'PRECONDITION_FAILED');
  assertError(await c.put(id, patient('Future', { id }), 'W/"9"'), 412, 'PRECONDITION_FAILED');
  assertError(await c.put(id, patient('Bad', { id }), 'version-2'), 400, 'BAD_REQUEST');
  assert.equal(assertResource(await c.get(id), 200, 2).meta.versionId, '2');

  assertResource(await c.put(id, patient('Third', { id }), 'W/"2"'), 200, 3);
  assertResource(await c.put(id, patient('Fourth', { id }), '"3"'), 200, 4); // a strong ETag compares by number

  // Ids are server-assigned: PUT to an id that was never created is 404 and creates nothing.
  const missing = '11111111-1111-4111-8111-111111111111';
  const admin = client(h, await h.token('admin'));
  assertError(await admin.put(missing, patient('Ghost', { id: missing })), 404, 'NOT_FOUND');
  assertError(await admin.get(missing), 404, 'NOT_FOUND');
  // The clinician is assigned to no such patient: 403, and nothing is created either way.
  assertError(await c.put(missing, patient('Ghost', { id: missing })), 403, 'FORBIDDEN');

  const history = historyOf(await c.get(`${id}/_history`));
  assert.deepEqual(
    history.entry.map((e) => (e['response'] as Json)['etag']),
    ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"'],
  );
});

test('delete: admin only, 204, then 410; history keeps every version newest first with the tombstone', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  const admin = client(h, await h.token('admin'));
  const created = await create(c, patient('Doomed'));
  const { id } = created;
  const v2 = assertResource(await c.put(id, patient('Doomed2', { id })), 200, 2);

  assertError(await c.del(id), 403, 'FORBIDDEN');
  assertResource(await c.get(id), 200, 2);

  const deleted = await admin.del(id);
  assert.equal(deleted.statusCode, 204);
  assert.equal(deleted.body, '');
  assertError(await c.get(id), 410, 'GONE');
  assertError(await c.get(`${id}/_history/3`), 410, 'GONE');
  assert.deepEqual(assertResource(await c.get(`${id}/_history/1`), 200, 1), created);

  const bundle = historyOf(await c.get(`${id}/_history`));
  assert.equal(bundle.link, undefined);
  const v3 = bundle.entry[0]?.['response'] as { lastModified: string } | undefined;
  assert.ok(v3 !== undefined);
  assert.deepEqual(bundle.entry, [
    {
      fullUrl: `${base}/${id}`,
      request: { method: 'DELETE', url: `${base}/${id}` },
      response: { status: '204', etag: 'W/"3"', lastModified: v3.lastModified },
    },
    {
      fullUrl: `${base}/${id}`,
      resource: v2,
      request: { method: 'PUT', url: `${base}/${id}` },
      response: { status: '200', etag: 'W/"2"', lastModified: v2.meta.lastUpdated },
    },
    {
      fullUrl: `${base}/${id}`,
      resource: created,
      request: { method: 'POST', url: base },
      response: { status: '201', etag: 'W/"1"', lastModified: created.meta.lastUpdated },
    },
  ]);
  assert.ok(Date.parse(v3.lastModified) >= Date.parse(v2.meta.lastUpdated));

  // Paging the history: newest first, the next link walks to the oldest.
  const page1 = historyOf(await c.get(`${id}/_history?_count=2`));
  assert.deepEqual(
    page1.entry.map((e) => (e['response'] as Json)['etag']),
    ['W/"3"', 'W/"2"'],
  );
  const next = page1.link?.find((l) => l.relation === 'next')?.url;
  assert.ok(next !== undefined);
  const page2 = historyOf(await c.get(next));
  assert.deepEqual(
    page2.entry.map((e) => (e['response'] as Json)['etag']),
    ['W/"1"'],
  );
  assert.equal(page2.link, undefined);
  assert.equal(historyOf(await c.get(`${id}/_history?_count=3`)).link, undefined); // no trailing empty page

  // Deleting again is a no-op (FHIR http.html#delete); no new version.
  assert.equal((await admin.del(id)).statusCode, 204);
  assert.equal(historyOf(await c.get(`${id}/_history`)).entry.length, 3);
  assertError(await admin.del('22222222-2222-4222-8222-222222222222'), 404, 'NOT_FOUND');
  assertError(await c.put(id, patient('Revived', { id })), 410, 'GONE');
  assertError(await c.put(id, patient('Revived', { id }), 'W/"3"'), 410, 'GONE');
  assert.equal(historyOf(await c.get(`${id}/_history`)).entry.length, 3);
});

test('10 concurrent PUTs with the same If-Match: exactly one wins, nine get 412', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  const { id } = await create(c, patient('Race'));
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, i) => c.put(id, patient(`Racer${String(i)}`, { id }), 'W/"1"')),
  );
  const winners = replies.filter((r) => r.statusCode === 200);
  assert.equal(winners.length, 1);
  for (const r of replies.filter((x) => x.statusCode !== 200)) assertError(r, 412, 'PRECONDITION_FAILED');
  const [winner] = winners;
  assert.ok(winner !== undefined);
  assert.deepEqual(assertResource(await c.get(id), 200, 2), assertResource(winner, 200, 2));
  assert.equal(historyOf(await c.get(`${id}/_history`)).entry.length, 2);
});

/** 10 concurrent unconditional PUTs: all 200, versions 2..11, each version the body its writer was answered with. */
async function assertCrowdAllCommit(t: TestContext, sealer?: Sealer): Promise<void> {
  const h = await build(t, sealer === undefined ? {} : { sealer });
  const c = client(h, await h.token('clinician'));
  const { id } = await create(c, patient('Crowd'));
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, i) => c.put(id, patient(`Crowd${String(i)}`, { id }))),
  );
  assert.deepEqual(
    replies.map((r) => r.statusCode),
    Array.from({ length: 10 }, () => 200),
  );
  const bodies = replies.map((r) => r.json<Stored>());
  assert.deepEqual(
    bodies.map((b) => Number(b.meta.versionId)).sort((a, b) => a - b),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  );
  const bundle = historyOf(await c.get(`${id}/_history`));
  assert.deepEqual(
    bundle.entry.map((e) => (e['response'] as Json)['etag']),
    Array.from({ length: 11 }, (_, i) => `W/"${String(11 - i)}"`),
  );
  for (const body of bodies)
    assert.deepEqual(
      assertResource(await c.get(`${id}/_history/${body.meta.versionId}`), 200, Number(body.meta.versionId)),
      body,
    );
}

test('10 concurrent PUTs without If-Match all succeed with distinct versions 2..11', async (t) => {
  await assertCrowdAllCommit(t);
});

test('10 concurrent PUTs without If-Match all succeed when sealing takes an event-loop turn (as a real key manager does)', async (t) => {
  await assertCrowdAllCommit(t, {
    seal: async (plaintext, context) => {
      await setImmediate();
      return identitySealer.seal(plaintext, context);
    },
    open: (sealed, context) => identitySealer.open(sealed, context),
  });
});

function exampleFiles(): { file: string; body: Json }[] {
  return readdirSync(examplesDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, body: JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as Json }))
    .filter(({ body }) => body['resourceType'] === 'Patient');
}

test('every HL7 R4 Patient example round-trips over HTTP', async (t) => {
  const examples = exampleFiles();
  assert.equal(examples.length, 11);
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  for (const { file, body } of examples) {
    const sent = structuredClone(body);
    delete sent['id'];
    delete sent['meta'];
    const created = await create(c, sent);
    const expected = { ...sent, id: created.id, meta: { versionId: '1', lastUpdated: created.meta.lastUpdated } };
    assert.deepEqual(created, expected, file);
    assert.deepEqual(assertResource(await c.get(created.id), 200, 1), expected, file);
  }
});

test('validation errors name the field path, use the exact envelope and never echo the value', async (t) => {
  const h = await build(t);
  const c = client(h, await h.token('clinician'));
  const secret = 'Zqxsecretvalue';
  const cases: { body: Json; field: string }[] = [
    { body: patient('Unknown', { favouriteColour: secret }), field: 'Patient.favouriteColour' },
    { body: patient('Type', { gender: 5 }), field: 'Patient.gender' },
    { body: patient('Type', { active: secret }), field: 'Patient.active' },
    { body: patient('Date', { birthDate: '2021-02-30' }), field: 'Patient.birthDate' },
    { body: patient(`${secret}${'x'.repeat(4096)}`), field: 'Patient.name[0].family' },
    { body: patient('Array', { name: Array.from({ length: 21 }, () => ({ family: secret })) }), field: 'Patient.name' },
    {
      body: patient('Array', {
        identifier: Array.from({ length: 101 }, (_, i) => ({ value: `${secret}${String(i)}` })),
      }),
      field: 'Patient.identifier',
    },
    { body: patient('Nested', { name: [{ family: 'Ok', given: [secret, 7] }] }), field: 'Patient.name[0].given[1]' },
  ];
  for (const { body, field } of cases) {
    const message = assertError(await c.post(body), 400, 'VALIDATION_ERROR', {
      field,
      secrets: [secret, '2021-02-30'],
    });
    assert.ok(message.length > field.length + 2, message);
  }
  assert.deepEqual((await c.get(base)).json<Bundle>().entry, []);
});

/** The identity sealer, counting seals; `hold()` makes the next seal wait until released. */
function gatedSealer() {
  const seals: SealContext[] = [];
  let gate: { entered: () => void; released: Promise<void> } | undefined;
  const sealer: Sealer = {
    async seal(plaintext, context) {
      seals.push(context);
      const held = gate;
      gate = undefined;
      if (held !== undefined) {
        held.entered();
        await held.released;
      }
      return identitySealer.seal(plaintext, context);
    },
    open: (sealed, context) => identitySealer.open(sealed, context),
  };
  function hold(): { entered: Promise<void>; release: () => void } {
    let release = (): void => undefined;
    let entered = (): void => undefined;
    const enteredPromise = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    gate = { entered, released };
    return { entered: enteredPromise, release };
  }
  return { sealer, seals, hold };
}

/**
 * A writer in another process on the same database: its own engine (writes
 * within one engine queue per resource, so only another engine can overtake).
 */
function rivalProcess(h: TestApp): { engine: ResourceEngine; patients: ResourceDefinition } {
  const [patients] = createResourceDefinitions();
  assert.ok(patients !== undefined);
  return { engine: createResourceEngine({ store: h.db.resources, sealer: identitySealer }), patients };
}

test("a writer whose seal is overtaken by another process's commit re-reads, re-seals and commits the next version", async (t) => {
  const gated = gatedSealer();
  const h = await build(t, { sealer: gated.sealer });
  const c = client(h, await h.token('clinician'));
  const created = await create(c, patient('Sealed'));
  const { id } = created;
  assert.deepEqual(gated.seals, [{ type: 'Patient', id, version: 1 }]);

  const rival = rivalProcess(h);
  const held = gated.hold();
  const slow = c.put(id, patient('Slow', { id }));
  await held.entered;
  const fast = (await rival.engine.update(rival.patients, id, patient('Fast', { id }))).resource;
  held.release();
  const slowBody = assertResource(await slow, 200, 3);

  // Slow sealed v2, lost the commit, re-read v2 and sealed again as v3: the AAD names the version committed.
  assert.deepEqual(gated.seals, [
    { type: 'Patient', id, version: 1 },
    { type: 'Patient', id, version: 2 },
    { type: 'Patient', id, version: 3 },
  ]);
  assert.deepEqual(slowBody.name, [{ family: 'Slow', given: ['Ann'] }]);
  assert.deepEqual(assertResource(await c.get(id), 200, 3), slowBody);
  assert.deepEqual(assertResource(await c.get(`${id}/_history/2`), 200, 2), fast);
  assert.equal(historyOf(await c.get(`${id}/_history`)).entry.length, 3);
});

test('a conditional writer overtaken during sealing gets 412, without a retry', async (t) => {
  const gated = gatedSealer();
  const h = await build(t, { sealer: gated.sealer });
  const c = client(h, await h.token('clinician'));
  const { id } = await create(c, patient('Cond'));
  const rival = rivalProcess(h);
  const held = gated.hold();
  const slow = c.put(id, patient('Slow', { id }), 'W/"1"');
  await held.entered;
  assert.equal((await rival.engine.update(rival.patients, id, patient('Fast', { id }))).version, 2);
  held.release();
  assertError(await slow, 412, 'PRECONDITION_FAILED');
  assert.equal(gated.seals.length, 2);
  assert.deepEqual(assertResource(await c.get(id), 200, 2).name, [{ family: 'Fast', given: ['Ann'] }]);
});

test('a writer that loses every race to another process gives up after 8 seals with 409 CONFLICT', async (t) => {
  const ref: { rival?: ReturnType<typeof rivalProcess> } = {};
  let slowSeals = 0;
  const decoder = new TextDecoder();
  const sealer: Sealer = {
    async seal(plaintext, context) {
      const body = JSON.parse(decoder.decode(plaintext)) as { name?: { family?: string }[] };
      if (ref.rival !== undefined && body.name?.[0]?.family === 'Loser') {
        slowSeals += 1;
        // While the loser seals, another process commits: the loser's version check then fails.
        await ref.rival.engine.update(
          ref.rival.patients,
          context.id,
          patient(`Winner${String(slowSeals)}`, { id: context.id }),
        );
      }
      return identitySealer.seal(plaintext, context);
    },
    open: (sealed, context) => identitySealer.open(sealed, context),
  };
  const h = await build(t, { sealer });
  const c = client(h, await h.token('clinician'));
  const { id } = await create(c, patient('Contested'));
  ref.rival = rivalProcess(h);
  assertError(await c.put(id, patient('Loser', { id })), 409, 'CONFLICT');
  assert.equal(slowSeals, 8);
  const current = assertResource(await c.get(id), 200, 9);
  assert.deepEqual(current.name, [{ family: 'Winner8', given: ['Ann'] }]);
});

test('the core CRUD flow on PostgreSQL', { skip: await postgresSkip() }, async (t) => {
  const h = await build(t, { database: 'postgres' });
  const c = client(h, await h.token('clinician'));
  const admin = client(h, await h.token('admin'));
  const created = await create(c, patient('Postgres', { meta: { tag: [{ code: 'pg' }] } }));
  const { id } = created;
  assert.deepEqual(assertResource(await c.get(id), 200, 1), created);
  const v2 = assertResource(await c.put(id, patient('Postgres2', { id }), 'W/"1"'), 200, 2);
  assertError(await c.put(id, patient('Stale', { id }), 'W/"1"'), 412, 'PRECONDITION_FAILED');
  assertError(await admin.get('33333333-3333-4333-8333-333333333333'), 404, 'NOT_FOUND');

  const race = await Promise.all(
    Array.from({ length: 5 }, (_, i) => c.put(id, patient(`Pg${String(i)}`, { id }), 'W/"2"')),
  );
  assert.deepEqual(race.map((r) => r.statusCode).sort(), [200, 412, 412, 412, 412]);

  assert.equal((await admin.del(id)).statusCode, 204);
  assertError(await c.get(id), 410, 'GONE');
  const bundle = historyOf(await c.get(`${id}/_history`));
  assert.deepEqual(
    bundle.entry.map((e) => [(e['request'] as Json)['method'], (e['response'] as Json)['etag']]),
    [
      ['DELETE', 'W/"4"'],
      ['PUT', 'W/"3"'],
      ['PUT', 'W/"2"'],
      ['POST', 'W/"1"'],
    ],
  );
  assert.deepEqual(bundle.entry[2]?.['resource'], v2);
  assert.deepEqual(bundle.entry[3]?.['resource'], created);
});

test('a history cursor that is not a version the server issued is refused with 400', async (t) => {
  const databases: ('sqlite' | 'postgres')[] = (await postgresSkip()) === false ? ['sqlite', 'postgres'] : ['sqlite'];
  for (const database of databases) {
    const h = await build(t, { database });
    const c = client(h, await h.token('clinician'));
    const { id } = await create(c, patient('Cursor'));
    for (const cursor of ['YWJj', 'AAAA', Buffer.from('999999999999999999999').toString('base64url')]) {
      assertError(await c.get(`${id}/_history?_cursor=${cursor}`), 400, 'VALIDATION_ERROR');
    }
  }
});
