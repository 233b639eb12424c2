import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexEntry } from '../../src/storage/ports.js';
import { patientSearch } from '../../src/resources/patient/search-params.js';
import { buildIndex, IndexTooLargeError, indexLimits } from '../../src/resources/search/build-index.js';
import { parseSearchQuery, queryLimits } from '../../src/resources/search/parse-query.js';
import { createPlainTokenizer } from '../../src/resources/search/plain-tokenizer.js';
import type { SearchClause, SearchTokenizer } from '../../src/resources/search/types.js';

const folder = join(import.meta.dirname, 'fixtures', 'hl7-r4-examples');
const plain = createPlainTokenizer();

const synthetic: Record<string, Record<string, unknown>> = {
  chloe: {
    resourceType: 'Patient',
    name: [{ family: 'Durand', given: ['Chloé'] }],
    birthDate: '1974',
    gender: 'female',
  },
  chad: {
    resourceType: 'Patient',
    name: [{ family: 'Ch', given: ['Chad'], text: 'Chad Ch' }],
    birthDate: '1974-12',
    gender: 'other',
  },
};

function patients(): Map<string, Record<string, unknown>> {
  const all = new Map<string, Record<string, unknown>>();
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.json'))) {
    const body = JSON.parse(readFileSync(join(folder, file), 'utf8')) as Record<string, unknown>;
    all.set(String(body['id']), body);
  }
  for (const [id, body] of Object.entries(synthetic)) all.set(id, body);
  return all;
}

/** What the storage adapters do: every clause must match (AND), any token of a clause (OR). */
function run(tokenizer: SearchTokenizer, query: Record<string, string | string[]>): string[] {
  const parsed = parseSearchQuery(patientSearch, tokenizer, query);
  assert.ok('clauses' in parsed, JSON.stringify(parsed));
  const index = new Map<string, IndexEntry[]>();
  for (const [id, body] of patients()) index.set(id, buildIndex(patientSearch, tokenizer, body));
  const hit = (entries: IndexEntry[], c: SearchClause): boolean =>
    entries.some((e) => e.param === c.param && c.tokens.includes(e.token));
  return [...index]
    .filter(([, entries]) => parsed.clauses.every((c) => hit(entries, c)))
    .map(([id]) => id)
    .sort();
}

const search = (query: Record<string, string | string[]>): string[] => run(plain, query);

function refusal(query: Record<string, string | string[]>): { field: string; message: string } {
  const parsed = parseSearchQuery(patientSearch, plain, query);
  assert.ok('error' in parsed, 'expected a refusal');
  return parsed.error;
}

test('the index of each HL7 example is deduplicated and uses only Patient parameters', () => {
  const names = new Set(patientSearch.parameters.map((p) => p.name));
  for (const [id, body] of patients()) {
    const entries = buildIndex(patientSearch, plain, body);
    const keys = entries.map((e) => `${e.param} ${e.token}`);
    assert.equal(new Set(keys).size, keys.length, id);
    for (const e of entries) assert.ok(names.has(e.param), e.param);
  }
});

test('the index of Patient/example holds the expected tokens, and nothing from contacts', () => {
  const body = patients().get('example');
  assert.ok(body);
  const keys = new Set(buildIndex(patientSearch, plain, body).map((e) => `${e.param} ${e.token}`));
  for (const expected of [
    'name p:cha',
    'name w:chalmers',
    'name p:jim',
    'family p:windsor',
    'given p:peter',
    'birthdate y:1974',
    'birthdate m:1974-12',
    'birthdate d:1974-12-25',
    'identifier sv:urn:oid:1.2.36.146.595.217.0.1|12345',
    'identifier v:12345',
    'identifier s:urn:oid:1.2.36.146.595.217.0.1',
    'gender c:male',
  ])
    assert.ok(keys.has(expected), expected);
  assert.ok(!keys.has('family p:jim') && !keys.has('given p:chalmers'));
  assert.ok(![...keys].some((k) => k.includes('bened') || k.includes('marche')), 'contact names are not Patient names');
});

test('name, family and given', () => {
  assert.deepEqual(search({ name: 'chalmers' }), ['example']);
  assert.deepEqual(search({ name: 'cha' }), ['chad', 'example']);
  assert.deepEqual(search({ name: 'ch' }), ['chad'], '"ch" matches the whole word Ch, not a prefix of Chalmers');
  assert.deepEqual(search({ name: 'chloe' }), ['chloe']);
  assert.deepEqual(search({ name: 'CHLO' }), ['chloe']);
  assert.deepEqual(search({ name: 'msc' }), ['f001'], 'suffix');
  assert.deepEqual(search({ name: 'van de heuvel' }), ['f001']);
  assert.deepEqual(search({ family: 'jim' }), []);
  assert.deepEqual(search({ given: 'jim' }), ['example']);
  assert.deepEqual(search({ family: 'everywoman' }), ['genetics-example1', 'mom']);
});

test('repeated parameters are AND, comma-separated values are OR', () => {
  assert.deepEqual(search({ given: ['pet', 'jam'] }), ['example']);
  assert.deepEqual(search({ given: 'peter', family: 'levin' }), []);
  assert.deepEqual(search({ family: 'levin,solo' }), ['infant-twin-1', 'xcda']);
  assert.deepEqual(search({ gender: 'female,other' }), [
    'chad',
    'chloe',
    'genetics-example1',
    'infant-twin-1',
    'mom',
    'proband',
  ]);
});

test('birthdate at year, month and day precision', () => {
  assert.deepEqual(search({ birthdate: '1974' }), ['chad', 'chloe', 'example']);
  assert.deepEqual(search({ birthdate: '1974-12' }), ['chad', 'example']);
  assert.deepEqual(search({ birthdate: '1974-12-25' }), ['example']);
  assert.deepEqual(search({ birthdate: '1973-05-31' }), ['genetics-example1', 'mom']);
});

test('identifier forms', () => {
  assert.deepEqual(search({ identifier: 'urn:oid:1.2.36.146.595.217.0.1|12345' }), ['example']);
  assert.deepEqual(search({ identifier: '12345' }), ['example', 'xcda']);
  assert.deepEqual(search({ identifier: 'urn:oid:0.1.2.3.4.5.6.7|' }), ['pat1', 'pat3']);
  assert.deepEqual(
    search({ identifier: 'urn:oid:2.16.840.1.113883.2.4.6.3|' }),
    ['f001'],
    'a system without a value is indexed',
  );
  assert.deepEqual(search({ identifier: '|12345' }), [], 'no identifier 12345 without a system');
  assert.deepEqual(search({ identifier: 'mrn7465737865' }), [], 'case-sensitive');
});

test('refusals name the parameter and never echo the value', () => {
  const cases: [Record<string, string | string[]>, string, RegExp][] = [
    [{ colour: 'Zephyrine' }, 'colour', /Unknown search parameter/],
    [{ 'name:exact': 'Zephyrine' }, 'name:exact', /Unknown search parameter/],
    [{ _sort: 'name' }, '_sort', /Unknown search parameter/],
    [{ name: '' }, 'name', /empty/],
    [{ name: 'Zephyrine,' }, 'name', /empty/],
    [{ gender: 'M' }, 'gender', /one of: male, female, other, unknown/],
    [{ birthdate: 'ge1974-01-01' }, 'birthdate', /prefixes are not supported/],
    [{ birthdate: '2023-02-30' }, 'birthdate', /calendar date/],
    [{ identifier: 'Zeph|yr|ine' }, 'identifier', /system\|value/],
    [{ name: 'Zeph\\yrine' }, 'name', /escape/],
    [{ name: 'x'.repeat(queryLimits.valueChars + 1) }, 'name', /at most/],
    [{ name: Array.from({ length: 17 }, () => 'a').join(',') }, 'name', /at most 16/],
    [{ _count: ['10', '20'] }, '_count', /repeated/],
    [{ '<script>': 'x' }, '(unrecognized parameter)', /Unknown/],
  ];
  for (const [query, field, message] of cases) {
    const error = refusal(query);
    assert.equal(error.field, field, JSON.stringify(query));
    assert.match(error.message, message);
    assert.ok(!error.message.includes('Zeph') && !error.message.includes('2023-02-30'));
  }
});

test('control parameters are passed through, not turned into clauses', () => {
  const parsed = parseSearchQuery(patientSearch, plain, { _count: '10', _cursor: 'abc', name: 'eve' });
  assert.ok('clauses' in parsed);
  assert.deepEqual(parsed.control, { _count: '10', _cursor: 'abc' });
  assert.deepEqual(parsed.clauses, [{ param: 'name', tokens: ['p:eve'] }]);
});

test('a blind tokenizer is just HMAC over the plain tokens, and finds the same patients', () => {
  const key = Buffer.alloc(32, 7);
  const blind = (token: string): string => createHmac('sha256', key).update(token).digest('base64url');
  const blindTokenizer: SearchTokenizer = {
    indexTokens: (kind, value) => plain.indexTokens(kind, value).map(blind),
    queryTokens: (kind, value) => {
      const result = plain.queryTokens(kind, value);
      return 'error' in result ? result : result.map(blind);
    },
  };
  const queries: Record<string, string | string[]>[] = [
    { name: 'cha' },
    { birthdate: '1974' },
    { identifier: '12345' },
    { gender: 'female' },
    { given: ['pet', 'jam'] },
  ];
  for (const query of queries) {
    assert.deepEqual(run(blindTokenizer, query), run(plain, query), JSON.stringify(query));
  }
  const entries = buildIndex(patientSearch, blindTokenizer, patients().get('example') ?? {});
  assert.ok(!entries.some((e) => e.token.includes('chalmers')));
});

test('a resource that would flood the index is refused, naming the parameter', () => {
  const words = Array.from({ length: 400 }, (_, i) => `w${i.toString(36).padStart(4, '0')}abcdefghijklmnopqrstuvwxyz`);
  const flood = { resourceType: 'Patient', name: [{ text: words.slice(0, 16).join(' '), given: words.slice(16) }] };
  assert.throws(
    () => buildIndex(patientSearch, plain, flood),
    (e: unknown) => e instanceof IndexTooLargeError && e.param === 'name',
  );
  const normal = buildIndex(patientSearch, plain, patients().get('example') ?? {});
  assert.ok(normal.length < indexLimits.tokensPerParameter);
});
