/**
 * Patient search over HTTP (docs/search.md, src/resources/patient/search-params.ts):
 * string matching (case/accent-insensitive, exact or 3+ character prefix),
 * birthdate precision, identifier token syntax, gender codes, AND/OR,
 * refusals naming the parameter, tombstones and updates reflected in the
 * index, and keyset pagination through the opaque `next` cursor.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { build, type TestApp } from '../helpers/app.js';
import { postgresSkip } from '../helpers/database.js';

type Json = Record<string, unknown>;
type Reply = LightMyRequestResponse;
interface Envelope {
  error: { code: string; message: string; requestId: string };
}
interface Entry {
  fullUrl: string;
  resource: Json & { id: string };
  search: { mode: string };
}
interface Bundle {
  resourceType: string;
  type: string;
  link?: { relation: string; url: string }[];
  entry: Entry[];
}

const base = '/api/v1/patients';
const mrn = 'http://hospital.example/mrn';

/** The seed, by a short key used in expectations. */
const seed: Record<string, Json> = {
  muller: {
    name: [{ family: 'Müller', given: ['Hans'] }],
    gender: 'male',
    birthDate: '1974-12-25',
    identifier: [{ system: mrn, value: 'M-1001' }],
  },
  mullerova: {
    name: [{ family: 'Müllerová', given: ['Jana'] }],
    gender: 'female',
    birthDate: '1974-12-25',
    identifier: [{ system: 'urn:x', value: 'A|B' }],
  },
  chalmers: {
    name: [{ family: 'Chalmers', given: ['Peter', 'James'], prefix: ['Mr.'] }],
    gender: 'male',
    birthDate: '1974-12',
    identifier: [
      { system: mrn, value: 'C-2002' },
      { system: 'urn:oid:2.16.840.1.113883.4.1', value: '123-45-6789' },
    ],
  },
  durand: {
    name: [{ family: 'Durand', given: ['Chloé'] }],
    gender: 'female',
    birthDate: '1974',
    identifier: [{ value: 'M-1001' }],
  },
  obrien: {
    name: [
      { family: "O'Brien", given: ['Seán'] },
      { use: 'maiden', family: 'Smith-Jones' },
    ],
    gender: 'male',
    birthDate: '1980-02-29',
  },
  marche: {
    name: [{ family: 'du Marché', given: ['Amélie'], text: 'Amélie du Marché' }],
    gender: 'female',
    birthDate: '1990-06-15',
  },
  charleston: { name: [{ family: 'Charleston', given: ['Ch'] }], gender: 'other', birthDate: '2001-01-01' },
  anon: { gender: 'unknown', birthDate: '2020' },
};

interface Seeded {
  h: TestApp;
  ids: Record<string, string>;
  byId: Map<string, string>;
  search: (query: string) => Promise<Reply>;
}

async function seeded(t: TestContext, options: Parameters<typeof build>[1] = {}): Promise<Seeded> {
  const h = await build(t, options);
  const headers = { authorization: `Bearer ${await h.token('clinician')}` };
  const ids: Record<string, string> = {};
  for (const [key, body] of Object.entries(seed)) {
    const res = await h.app.inject({
      method: 'POST',
      url: base,
      headers,
      payload: { resourceType: 'Patient', ...body },
    });
    assert.equal(res.statusCode, 201, res.body);
    ids[key] = res.json<{ id: string }>().id;
  }
  const byId = new Map(Object.entries(ids).map(([key, id]) => [id, key]));
  const search = (query: string) =>
    h.app.inject({ method: 'GET', url: query.startsWith('/') ? query : `${base}?${query}`, headers });
  return { h, ids, byId, search };
}

/** Asserts a searchset Bundle exactly (no total, entries in id order) and returns it. */
function bundleOf(res: Reply): Bundle {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/fhir+json; charset=utf-8');
  const bundle = res.json<Bundle>();
  assert.deepEqual(
    Object.keys(bundle).filter((k) => k !== 'link'),
    ['resourceType', 'type', 'entry'],
  );
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'searchset');
  for (const entry of bundle.entry) {
    assert.deepEqual(Object.keys(entry), ['fullUrl', 'resource', 'search']);
    assert.equal(entry.fullUrl, `${base}/${entry.resource.id}`);
    assert.deepEqual(entry.search, { mode: 'match' });
    assert.equal(entry.resource['resourceType'], 'Patient');
  }
  const ids = bundle.entry.map((e) => e.resource.id);
  assert.deepEqual(ids, [...ids].sort());
  return bundle;
}

/** The seed keys a search finds (sorted), after checking the bundle. */
async function found(s: Seeded, query: string): Promise<string[]> {
  return bundleOf(await s.search(query))
    .entry.map((e) => s.byId.get(e.resource.id) ?? `unknown:${e.resource.id}`)
    .sort();
}

async function assertFinds(s: Seeded, cases: Record<string, string[]>): Promise<void> {
  for (const [query, expected] of Object.entries(cases))
    assert.deepEqual(await found(s, query), [...expected].sort(), query);
}

function assertRefused(res: Reply, parameter: string, secrets: readonly string[] = []): void {
  assert.equal(res.statusCode, 400, res.body);
  const body = res.json<Envelope>();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'requestId']);
  assert.equal(body.error.code, 'VALIDATION_ERROR');
  assert.equal(body.error.requestId, res.headers['x-request-id']);
  assert.ok(body.error.message.includes(parameter), body.error.message);
  for (const secret of secrets) assert.ok(!body.error.message.includes(secret), `echoed ${secret}`);
}

const q = (params: Record<string, string>): string => new URLSearchParams(params).toString();

test('family, given and name: exact or 3+ character prefix, case- and accent-insensitive', async (t) => {
  const s = await seeded(t);
  await assertFinds(s, {
    [q({ family: 'Müller' })]: ['muller', 'mullerova'],
    [q({ family: 'muller' })]: ['muller', 'mullerova'],
    [q({ family: 'MÜL' })]: ['muller', 'mullerova'],
    [q({ family: 'mul' })]: ['muller', 'mullerova'],
    [q({ family: 'müllerova' })]: ['mullerova'],
    [q({ family: 'MULLEROVÁ' })]: ['mullerova'],
    [q({ family: 'cha' })]: ['chalmers', 'charleston'],
    [q({ family: 'chalmers' })]: ['chalmers'],
    [q({ family: 'chalmersx' })]: [],
    [q({ given: 'chloe' })]: ['durand'],
    [q({ given: 'CHLO' })]: ['durand'],
    [q({ given: 'sean' })]: ['obrien'],
    // Apostrophes are dropped, other punctuation separates words.
    [q({ family: "o'brien" })]: ['obrien'],
    [q({ family: 'obrien' })]: ['obrien'],
    [q({ family: 'brien' })]: [],
    [q({ family: 'jones' })]: ['obrien'],
    [q({ family: 'smith jones' })]: ['obrien'],
    // Several words must equal a whole value.
    [q({ family: 'du marche' })]: ['marche'],
    [q({ name: 'amelie du marche' })]: ['marche'],
    [q({ name: 'amelie marche' })]: [],
    [q({ given: 'peter james' })]: [],
    // family/given are their own parts only; name covers family, given, text, prefix and suffix.
    [q({ family: 'amelie' })]: [],
    [q({ given: 'amelie' })]: ['marche'],
    [q({ name: 'ameli' })]: ['marche'],
    [q({ name: 'hans' })]: ['muller'],
    [q({ name: 'mr' })]: ['chalmers'],
    [q({ given: 'mr' })]: [],
  });
});

test('one- and two-character queries match whole words only (documented, not refused)', async (t) => {
  const s = await seeded(t);
  await assertFinds(s, {
    [q({ family: 'ch' })]: [],
    [q({ given: 'ch' })]: ['charleston'],
    [q({ name: 'CH' })]: ['charleston'],
    [q({ family: 'mü' })]: [],
    [q({ family: 'du' })]: ['marche'],
    [q({ name: 'd' })]: [],
  });
});

test('birthdate at year, month and day precision', async (t) => {
  const s = await seeded(t);
  await assertFinds(s, {
    [q({ birthdate: '1974' })]: ['muller', 'mullerova', 'chalmers', 'durand'],
    [q({ birthdate: '1974-12' })]: ['muller', 'mullerova', 'chalmers'],
    [q({ birthdate: '1974-12-25' })]: ['muller', 'mullerova'],
    [q({ birthdate: 'eq1974-12-25' })]: ['muller', 'mullerova'],
    [q({ birthdate: '1974-12-24' })]: [],
    [q({ birthdate: '1974-11' })]: [],
    [q({ birthdate: '1980-02-29' })]: ['obrien'],
    [q({ birthdate: '2020' })]: ['anon'],
    [q({ birthdate: '2020-01' })]: [],
    [q({ birthdate: '1974-12-25,2001' })]: ['muller', 'mullerova', 'charleston'],
  });
  for (const value of ['ge1974', 'lt1974-12', '2021-02-30', '1974-13', '1974-12-25T10:00:00Z', '74']) {
    assertRefused(await s.search(q({ birthdate: value })), 'birthdate', [value]);
  }
});

test('identifier token syntax: system|value, value, system|, |value; case-sensitive; escapes', async (t) => {
  const s = await seeded(t);
  await assertFinds(s, {
    [q({ identifier: `${mrn}|M-1001` })]: ['muller'],
    [q({ identifier: 'M-1001' })]: ['muller', 'durand'],
    [q({ identifier: `${mrn}|` })]: ['muller', 'chalmers'],
    [q({ identifier: '|M-1001' })]: ['durand'],
    [q({ identifier: `${mrn}|m-1001` })]: [],
    [q({ identifier: 'm-1001' })]: [],
    [q({ identifier: 'urn:oid:2.16.840.1.113883.4.1|123-45-6789' })]: ['chalmers'],
    [q({ identifier: 'urn:x|A\\|B' })]: ['mullerova'],
    [q({ identifier: 'A\\|B' })]: ['mullerova'],
    [q({ identifier: `${mrn}|M-1001,${mrn}|C-2002` })]: ['muller', 'chalmers'],
  });
  assertRefused(await s.search(q({ identifier: 'a|b|c' })), 'identifier');
  assertRefused(await s.search(q({ identifier: '|' })), 'identifier');
  assertRefused(await s.search(q({ identifier: 'bad\\escape' })), 'identifier');
});

test('gender exactly, OR within a value, AND across parameters', async (t) => {
  const s = await seeded(t);
  await assertFinds(s, {
    [q({ gender: 'female' })]: ['mullerova', 'durand', 'marche'],
    [q({ gender: 'male' })]: ['muller', 'chalmers', 'obrien'],
    [q({ gender: 'other' })]: ['charleston'],
    [q({ gender: 'unknown' })]: ['anon'],
    [q({ gender: 'male,other' })]: ['muller', 'chalmers', 'obrien', 'charleston'],
    [q({ family: 'muller', gender: 'female' })]: ['mullerova'],
    [q({ birthdate: '1974', gender: 'male' })]: ['muller', 'chalmers'],
    [q({ family: 'mul', birthdate: '1974-12-25', identifier: `${mrn}|M-1001` })]: ['muller'],
    'given=pet&given=jam': ['chalmers'],
    'given=pet&given=hans': [],
    'family=durand&given=chlo&gender=male': [],
  });
  for (const value of ['Male', 'm', 'male ', 'man']) assertRefused(await s.search(q({ gender: value })), 'gender');
});

test('unknown parameters, modifiers and empty values are refused naming the parameter; empty results are a 200 bundle', async (t) => {
  const s = await seeded(t);
  assertRefused(await s.search('favourite=Zqxsecret'), 'favourite', ['Zqxsecret']);
  assertRefused(await s.search('name:exact=Zqxsecret'), 'name:exact', ['Zqxsecret']);
  assertRefused(await s.search('_sort=family'), '_sort');
  assertRefused(await s.search(`_compartment=${s.ids['muller'] ?? ''}`), '_compartment'); // the engine's own index parameter
  assertRefused(await s.search('family='), 'family');
  assertRefused(await s.search('family=muller&given='), 'given');
  assertRefused(await s.search(q({ family: '--' })), 'family');
  assertRefused(await s.search('_count=0'), '_count');
  assertRefused(await s.search('_count=two'), '_count');
  const empty = await s.search(q({ family: 'Zqxnobody' }));
  assert.deepEqual(empty.json(), { resourceType: 'Bundle', type: 'searchset', entry: [] });
  bundleOf(empty);
  assert.ok(!empty.body.includes('total'));
});

test('a search entry is the current resource, with its version; deleted patients never appear', async (t) => {
  const s = await seeded(t);
  const headers = { authorization: `Bearer ${await s.h.token('admin')}` };
  const hit = bundleOf(await s.search(q({ identifier: `${mrn}|M-1001` }))).entry[0];
  const read = await s.h.app.inject({ method: 'GET', url: `${base}/${s.ids['muller'] ?? ''}`, headers });
  assert.deepEqual(hit?.resource, read.json());

  const ghost = await s.h.app.inject({
    method: 'POST',
    url: base,
    headers,
    payload: { resourceType: 'Patient', name: [{ family: 'Müller', given: ['Ghost'] }] },
  });
  const ghostId = ghost.json<{ id: string }>().id;
  s.byId.set(ghostId, 'ghost');
  // The searching clinician reaches the admin's new patient once assigned to it (docs/access-control.md "Care teams").
  const assigned = await s.h.app.inject({
    method: 'POST',
    url: '/api/v1/care-team-assignments',
    headers,
    payload: { subject: 'test-clinician', patient: ghostId },
  });
  assert.equal(assigned.statusCode, 201, assigned.body);
  assert.deepEqual(await found(s, q({ family: 'muller' })), ['ghost', 'muller', 'mullerova']);
  const deleted = await s.h.app.inject({ method: 'DELETE', url: `${base}/${ghostId}`, headers });
  assert.equal(deleted.statusCode, 204);
  await assertFinds(s, { [q({ family: 'muller' })]: ['muller', 'mullerova'], [q({ given: 'ghost' })]: [] });
  assert.equal((await found(s, '')).length, 8);
});

test('search reads the index, not bodies: an update makes the old name unfindable and the new one findable', async (t) => {
  const s = await seeded(t);
  const id = s.ids['charleston'] ?? '';
  const headers = { authorization: `Bearer ${await s.h.token('clinician')}` };
  const body = {
    resourceType: 'Patient',
    id,
    name: [{ family: 'Whitfield', given: ['Ch'] }],
    gender: 'male',
    birthDate: '2001-01-01',
  };
  const put = await s.h.app.inject({ method: 'PUT', url: `${base}/${id}`, headers, payload: body });
  assert.equal(put.statusCode, 200, put.body);
  await assertFinds(s, {
    [q({ family: 'charleston' })]: [],
    [q({ family: 'cha' })]: ['chalmers'],
    [q({ family: 'whitfield' })]: ['charleston'],
    [q({ family: 'WHIT' })]: ['charleston'],
    [q({ gender: 'other' })]: [],
    [q({ gender: 'male' })]: ['muller', 'chalmers', 'obrien', 'charleston'],
  });
  const [entry] = bundleOf(await s.search(q({ family: 'whitfield' }))).entry;
  assert.equal((entry?.resource['meta'] as { versionId: string }).versionId, '2');
});

/** Follows `next` links from a first query; returns the ids of every page and the page sizes. */
async function walk(s: Seeded, first: string): Promise<{ ids: string[]; sizes: number[] }> {
  const ids: string[] = [];
  const sizes: number[] = [];
  let url: string | undefined = first;
  while (url !== undefined) {
    assert.ok(sizes.length < 20, 'too many pages');
    const bundle = bundleOf(await s.search(url));
    ids.push(...bundle.entry.map((e) => e.resource.id));
    sizes.push(bundle.entry.length);
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (url !== undefined) assert.match(url, /^\/api\/v1\/patients\?/);
  }
  return { ids, sizes };
}

test('pagination: _count and the next cursor walk every match once, in id order', async (t) => {
  const s = await seeded(t, { env: { CADUCEUS_PAGE_SIZE: '3', CADUCEUS_MAX_PAGE_SIZE: '5' } });
  const all = Object.values(s.ids).sort();

  const byDefault = await walk(s, base);
  assert.deepEqual(byDefault.ids, all);
  assert.deepEqual(byDefault.sizes, [3, 3, 2]);

  // A next link only while more matches follow: full pages, then the remainder, never an empty last page.
  for (const count of [1, 2, 4, 5]) {
    const paged = await walk(s, `${base}?_count=${String(count)}`);
    assert.deepEqual(paged.ids, all, `_count=${String(count)}`);
    const expected = Array.from({ length: Math.ceil(all.length / count) }, (_, i) =>
      Math.min(count, all.length - i * count),
    );
    assert.deepEqual(paged.sizes, expected, `_count=${String(count)}`);
  }

  // The parameters are carried into the next link; a filtered walk has no gaps or duplicates either.
  const first = bundleOf(await s.search(q({ birthdate: '1974', _count: '1' })));
  const next = first.link?.[0]?.url ?? '';
  const nextParams = new URL(next, 'http://x').searchParams;
  assert.equal(nextParams.get('birthdate'), '1974');
  assert.equal(nextParams.get('_count'), '1');
  const filtered = await walk(s, `${base}?${q({ birthdate: '1974', _count: '1' })}`);
  assert.deepEqual(filtered.ids, ['muller', 'mullerova', 'chalmers', 'durand'].map((k) => s.ids[k]).sort());

  // _count above CADUCEUS_MAX_PAGE_SIZE is refused (README: "_count up to CADUCEUS_MAX_PAGE_SIZE").
  assertRefused(await s.search('_count=6'), '_count');
  assert.equal(bundleOf(await s.search('_count=5')).entry.length, 5);
  // A cursor the server could not have sent (not base64url, too long) is refused.
  assertRefused(await s.search('_cursor=!!!'), '_cursor');
  assertRefused(await s.search(`_cursor=${'A'.repeat(201)}`), '_cursor');
  assertRefused(await s.search('_count=2&_count=3'), '_count');
});

test('a tampered cursor (valid base64url, but not one the server issued) is refused with 400', async (t) => {
  const s = await seeded(t);
  for (const cursor of ['AAAA', '____', Buffer.from('not-an-id$', 'utf8').toString('base64url')]) {
    assertRefused(await s.search(`_cursor=${cursor}`), '_cursor');
  }
});

test('the same semantics and pagination on PostgreSQL', { skip: await postgresSkip() }, async (t) => {
  const s = await seeded(t, { database: 'postgres' });
  await assertFinds(s, {
    [q({ family: 'MÜL' })]: ['muller', 'mullerova'],
    [q({ family: 'ch' })]: [],
    [q({ given: 'chloe' })]: ['durand'],
    [q({ birthdate: '1974-12' })]: ['muller', 'mullerova', 'chalmers'],
    [q({ identifier: `${mrn}|` })]: ['muller', 'chalmers'],
    'given=pet&given=jam': ['chalmers'],
    [q({ gender: 'male,other', birthdate: '1974' })]: ['muller', 'chalmers'],
  });
  assert.deepEqual((await walk(s, `${base}?_count=3`)).ids, Object.values(s.ids).sort());
});

test(
  'a cursor that decodes to NUL bytes is refused with 400 on PostgreSQL, not a 500',
  { skip: await postgresSkip() },
  async (t) => {
    const s = await seeded(t, { database: 'postgres' });
    assertRefused(await s.search('_cursor=AAAA'), '_cursor');
    assertRefused(await s.search(q({ family: 'mul', _cursor: 'AAAA' })), '_cursor');
  },
);
