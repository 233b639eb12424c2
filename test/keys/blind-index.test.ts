/**
 * Keyed blind-index tokens (docs/blind-indexes.md): the documented search
 * semantics hold exactly as with plain tokens, under one key or a mix of two
 * (a rotation half done); tokens are compact, keyed and domain-separated;
 * index keys are created once across processes and stored only wrapped.
 */
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { test } from 'node:test';
import {
  blindToken,
  createIndexKey,
  openIndexKeyRing,
  type IndexKey,
  type IndexKeySnapshot,
} from '../../src/keys/blind-index/index.js';
import { createBlindTokenizer } from '../../src/resources/search/blind-tokenizer.js';
import { openLocalKeyWrapper } from '../../src/keys/local/local-key-wrapper.js';
import { MasterKey } from '../../src/keys/local/master-key.js';
import { patientSearch } from '../../src/resources/patient/search-params.js';
import { buildIndex } from '../../src/resources/search/build-index.js';
import { parseSearchQuery } from '../../src/resources/search/parse-query.js';
import { createPlainTokenizer } from '../../src/resources/search/plain-tokenizer.js';
import type { SearchClause, SearchTokenizer } from '../../src/resources/search/types.js';
import { openDatabase } from '../../src/storage/open.js';
import type { IndexEntry } from '../../src/storage/ports.js';
import { openTestDatabase, postgresSkip } from '../helpers/database.js';

const plain = createPlainTokenizer();
const fixtures = join(import.meta.dirname, '..', 'resources', 'fixtures', 'hl7-r4-examples');
const keyA: IndexKey = { id: 'aaaaaaaa', key: createSecretKey(randomBytes(32)) };
const keyB: IndexKey = { id: 'bbbbbbbb', key: createSecretKey(randomBytes(32)) };

function patients(): Map<string, Record<string, unknown>> {
  const all = new Map<string, Record<string, unknown>>();
  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.json'))) {
    const body = JSON.parse(readFileSync(join(fixtures, file), 'utf8')) as Record<string, unknown>;
    all.set(String(body['id']), body);
  }
  all.set('chloe', {
    resourceType: 'Patient',
    name: [{ family: 'Durand', given: ['Chloé'] }],
    birthDate: '1974',
    gender: 'female',
  });
  all.set('chad', {
    resourceType: 'Patient',
    name: [{ family: 'Ch', given: ['Chad'], text: 'Chad Ch' }],
    birthDate: '1974-12',
    gender: 'other',
  });
  return all;
}

/** Matches as the storage adapters do; `indexer(id)` picks the tokenizer each resource was indexed with. */
function run(
  indexer: (id: string) => SearchTokenizer,
  querier: SearchTokenizer,
  query: Record<string, string | string[]>,
): string[] {
  const parsed = parseSearchQuery(patientSearch, querier, query);
  assert.ok('clauses' in parsed, JSON.stringify(parsed));
  const index = new Map<string, IndexEntry[]>();
  for (const [id, body] of patients()) index.set(id, buildIndex(patientSearch, indexer(id), body));
  const hit = (entries: IndexEntry[], c: SearchClause): boolean =>
    entries.some((e) => e.param === c.param && c.tokens.includes(e.token));
  return [...index]
    .filter(([, entries]) => parsed.clauses.every((c) => hit(entries, c)))
    .map(([id]) => id)
    .sort();
}

const queries: Record<string, string | string[]>[] = [
  { name: 'chalmers' },
  { name: 'cha' },
  { name: 'ch' },
  { name: 'chloe' },
  { name: 'CHLO' },
  { name: 'van de heuvel' },
  { family: 'jim' },
  { given: 'jim' },
  { family: 'everywoman' },
  { given: ['pet', 'jam'] },
  { family: 'levin,solo' },
  { gender: 'female,other' },
  { birthdate: '1974' },
  { birthdate: '1974-12' },
  { birthdate: '1974-12-25' },
  { birthdate: 'eq1973-05-31' },
  { identifier: 'urn:oid:1.2.36.146.595.217.0.1|12345' },
  { identifier: '12345' },
  { identifier: 'urn:oid:0.1.2.3.4.5.6.7|' },
  { identifier: '|12345' },
  { identifier: 'mrn7465737865' },
  { family: 'chalmers', given: 'peter', birthdate: '1974' },
];

const snapshotOf =
  (written: IndexKey, ...others: IndexKey[]): (() => IndexKeySnapshot) =>
  () => ({ written, searched: [written, ...others] });

test('blind tokens give exactly the plain results for every documented query, and never carry the plain text', () => {
  const blind = createBlindTokenizer(snapshotOf(keyA));
  for (const query of queries)
    assert.deepEqual(
      run(() => blind, blind, query),
      run(() => plain, plain, query),
      JSON.stringify(query),
    );
  const example = patients().get('example') ?? {};
  const entries = buildIndex(patientSearch, blind, example);
  assert.equal(entries.length, buildIndex(patientSearch, plain, example).length, 'one blind token per plain token');
  for (const { token } of entries) {
    // 8 hex key id, a dot, 128 bits of MAC in base64url (docs/blind-indexes.md "Token format").
    assert.match(token, /^aaaaaaaa\.[A-Za-z0-9_-]{22}$/);
    assert.ok(!/chalmers|peter|1974/i.test(token));
  }
});

test('while a rotation is half done (rows under two keys), a query under both keys finds every match; under one key it would not', () => {
  const old = createBlindTokenizer(snapshotOf(keyA));
  const next = createBlindTokenizer(snapshotOf(keyB, keyA));
  const ids = [...patients().keys()].sort();
  const half = new Set(ids.filter((_, i) => i % 2 === 0));
  const mixed = (id: string): SearchTokenizer => (half.has(id) ? next : old);
  for (const query of queries)
    assert.deepEqual(
      run(mixed, next, query),
      run(() => plain, plain, query),
      JSON.stringify(query),
    );
  assert.notDeepEqual(
    run(mixed, createBlindTokenizer(snapshotOf(keyB)), { gender: 'female,other' }),
    run(() => plain, plain, { gender: 'female,other' }),
  );
});

test('tokens are keyed and domain-separated: another key, parameter or resource type gives another token', () => {
  const base = blindToken(keyA, 'Patient.family', 'w:chalmers');
  assert.notEqual(blindToken(keyB, 'Patient.family', 'w:chalmers').slice(9), base.slice(9), 'another key');
  assert.notEqual(blindToken(keyA, 'Patient.given', 'w:chalmers'), base, 'another parameter');
  assert.notEqual(blindToken(keyA, 'Practitioner.family', 'w:chalmers'), base, 'another resource type');
  assert.equal(blindToken(keyA, 'Patient.family', 'w:chalmers'), base, 'deterministic: equality search works');
  const sameValue = buildIndex(patientSearch, createBlindTokenizer(snapshotOf(keyA)), {
    resourceType: 'Patient',
    name: [{ family: 'Peter', given: ['Peter'] }],
  });
  const family = new Set(sameValue.filter((e) => e.param === 'family').map((e) => e.token));
  assert.ok(
    !sameValue.some((e) => e.param === 'given' && family.has(e.token)),
    'the same name as family and given shares no token',
  );
});

test('a blind tokenizer refuses to work without the parameter domain; query errors are the plain ones', () => {
  const blind = createBlindTokenizer(snapshotOf(keyA));
  assert.throws(() => blind.indexTokens('string', 'Chalmers'), TypeError);
  assert.throws(() => blind.queryTokens('string', 'Chalmers', ''), TypeError);
  assert.deepEqual(blind.queryTokens('date', 'ge1974', 'Patient.birthdate'), plain.queryTokens('date', 'ge1974'));
});

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? await postgresSkip() : false;

  test(
    `${kind}: two processes opening their key rings at once agree on one index key, stored only wrapped`,
    { skip },
    async (t) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-bi-'));
      const database = await openTestDatabase(kind);
      const second = await openDatabase(database.url);
      const wrapper = await openLocalKeyWrapper({
        path: path.join(dir, 'kek-keyring.json'),
        masterKey: new MasterKey(randomBytes(32)),
      });
      t.after(async () => {
        await wrapper.close();
        await second.close();
        await database.cleanup();
        await rm(dir, { recursive: true, force: true });
      });
      const rings = await Promise.all(
        [database.db, second, database.db, second].map((db) => openIndexKeyRing({ store: db.indexKeys, wrapper })),
      );
      const written = rings.map((ring) => ring.snapshot().written.id);
      assert.equal(new Set(written).size, 1, written.join(','));
      const stored = await database.db.indexKeys.list();
      assert.deepEqual(
        stored.map((key) => key.state),
        ['written'],
      );
      const [only] = stored;
      assert.ok(
        only !== undefined && only.wrapped.length > 32,
        'wrapped (IV and tag around the key), never the bare 32 bytes',
      );
      const token = blindToken(rings[0]?.snapshot().written ?? keyA, 'Patient.family', 'w:x');
      assert.equal(
        blindToken(rings[1]?.snapshot().written ?? keyB, 'Patient.family', 'w:x'),
        token,
        'both processes make the same tokens',
      );
      // A second key may be rolled in only once at a time.
      const incoming = await database.db.indexKeys.insertIncomingIfAbsent(await createIndexKey(wrapper));
      assert.equal((await database.db.indexKeys.insertIncomingIfAbsent(await createIndexKey(wrapper))).id, incoming.id);
      // A KEK rotation re-wraps index keys with a compare-and-set; the ring still unwraps the same key afterwards.
      const newKek = await wrapper.rotate();
      const raw = await wrapper.unwrap({ kekId: only.kekId, wrapped: only.wrapped });
      const rewrapped = await wrapper.wrap(raw);
      raw.fill(0);
      assert.equal(rewrapped.kekId, newKek);
      assert.equal(await database.db.indexKeys.rewrap(only.id, only, rewrapped), true);
      assert.equal(
        await database.db.indexKeys.rewrap(only.id, only, rewrapped),
        false,
        'a stale expected wrapping changes nothing',
      );
      const fresh = await openIndexKeyRing({ store: second.indexKeys, wrapper });
      assert.equal(blindToken(fresh.snapshot().written, 'Patient.family', 'w:x'), token);
      fresh.close();
      for (const ring of rings) ring.close();
    },
  );
}
