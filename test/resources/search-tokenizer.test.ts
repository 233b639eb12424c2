import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  escapeSearchValue,
  formatTokenValue,
  splitUnescaped,
  unescapeSearchValue,
} from '../../src/resources/search/escape.js';
import { normalizeText } from '../../src/resources/search/normalize.js';
import { createPlainTokenizer, tokenizerLimits } from '../../src/resources/search/plain-tokenizer.js';

const tokenizer = createPlainTokenizer();

function query(kind: Parameters<typeof tokenizer.queryTokens>[0], value: string): string[] {
  const result = tokenizer.queryTokens(kind, value);
  assert.ok(Array.isArray(result), `expected tokens for ${value}`);
  return result;
}

function queryError(kind: Parameters<typeof tokenizer.queryTokens>[0], value: string): string {
  const result = tokenizer.queryTokens(kind, value);
  assert.ok(!Array.isArray(result), `expected an error for ${value}`);
  if (value.length >= 4) assert.ok(!result.error.includes(value), 'the error must not echo the query value');
  return result.error;
}

function matches(kind: Parameters<typeof tokenizer.queryTokens>[0], stored: string, queryValue: string): boolean {
  const index = new Set(tokenizer.indexTokens(kind, stored));
  return query(kind, queryValue).some((t) => index.has(t));
}

test('normalization folds case and accents, drops apostrophes, splits on other punctuation', () => {
  assert.equal(normalizeText('  Chloé   DU-Marché '), 'chloe du marche');
  assert.equal(normalizeText("O'Brien"), 'obrien');
  assert.equal(normalizeText('ＡＢＣ'), 'abc');
  assert.equal(normalizeText('İstanbul'), 'istanbul');
  assert.equal(normalizeText('--'), '');
});

test('string tokens: whole words, prefixes from 3 characters, tagged apart', () => {
  const tokens = tokenizer.indexTokens('string', 'Chalmers');
  assert.ok(tokens.includes('w:chalmers'));
  for (const p of ['p:cha', 'p:chal', 'p:chalmer', 'p:chalmers']) assert.ok(tokens.includes(p), p);
  assert.ok(!tokens.includes('p:ch') && !tokens.includes('w:ch'));
  assert.deepEqual(query('string', 'cha'), ['p:cha']);
  assert.deepEqual(query('string', 'Chalmers'), ['p:chalmers']);
  assert.deepEqual(query('string', 'ch'), ['w:ch']);
});

test('string matching: accents, case, prefixes and short words', () => {
  assert.ok(matches('string', 'Chloé', 'chloe'));
  assert.ok(matches('string', 'Chloé', 'CHLO'));
  assert.ok(matches('string', 'chloe', 'Chloé'));
  assert.equal(matches('string', 'Chalmers', 'ch'), false);
  assert.equal(matches('string', 'Chalmers', 'halm'), false);
  assert.equal(matches('string', 'Chalmers', 'chalmersx'), false);
  assert.ok(matches('string', 'du Marché', 'du'));
  assert.ok(matches('string', 'du Marché', 'marc'));
  assert.ok(matches('string', 'du Marché', 'Du marche'));
  assert.equal(matches('string', 'du Marché', 'du mar'), false);
  assert.ok(matches('string', 'Smith-Jones', 'jones'));
  assert.ok(matches('string', 'Al', 'al'));
});

test('string bounds: prefixes up to 32 characters, 16 words per value', () => {
  const long = 'a'.repeat(40);
  const tokens = tokenizer.indexTokens('string', long);
  assert.ok(tokens.includes(`p:${'a'.repeat(tokenizerLimits.prefixMax)}`));
  assert.ok(!tokens.includes(`p:${'a'.repeat(tokenizerLimits.prefixMax + 1)}`));
  assert.ok(matches('string', long, long), 'a long word still matches itself');
  const words = Array.from({ length: 20 }, (_, i) => `word${String.fromCharCode(97 + i)}`).join(' ');
  assert.ok(matches('string', words, 'wordp'));
  assert.equal(matches('string', words, 'wordq'), false);
  assert.match(queryError('string', '---'), /letter or digit/);
});

test('date tokens by precision', () => {
  assert.deepEqual(tokenizer.indexTokens('date', '1974-12-25'), ['y:1974', 'm:1974-12', 'd:1974-12-25']);
  assert.deepEqual(tokenizer.indexTokens('date', '1974-12'), ['y:1974', 'm:1974-12']);
  assert.deepEqual(tokenizer.indexTokens('date', '1974'), ['y:1974']);
  assert.deepEqual(tokenizer.indexTokens('date', '1974-12-25T14:35:45-05:00'), ['y:1974', 'm:1974-12', 'd:1974-12-25']);
  assert.deepEqual(query('date', '1974'), ['y:1974']);
  assert.deepEqual(query('date', '1974-12'), ['m:1974-12']);
  assert.deepEqual(query('date', 'eq1974-12-25'), ['d:1974-12-25']);
  for (const [stored, q, expected] of [
    ['1974', '1974', true],
    ['1974-12', '1974', true],
    ['1974-12-25', '1974', true],
    ['1974-12', '1974-12', true],
    ['1974-12-25', '1974-12', true],
    ['1974', '1974-12', false],
    ['1974-12-25', '1974-12-25', true],
    ['1974-12', '1974-12-25', false],
    ['1975-12-25', '1974', false],
  ] as const) {
    assert.equal(matches('date', stored, q), expected, `${stored} ~ ${q}`);
  }
});

test('date queries: invalid dates and comparison prefixes are refused', () => {
  for (const bad of ['2023-02-30', '2023-13', '1999-00-10', '74', '1974-12-25T10:00:00Z', 'yesterday'])
    queryError('date', bad);
  for (const prefix of ['ge', 'lt', 'gt', 'le', 'ne', 'sa', 'eb', 'ap'])
    assert.match(queryError('date', `${prefix}1974`), /prefixes are not supported/);
});

test('token forms: system|value, value, system|, |value; case-sensitive', () => {
  const stored = formatTokenValue('urn:oid:1.2.36', 'MRN-12345');
  assert.equal(stored, 'urn:oid:1.2.36|MRN-12345');
  assert.deepEqual(tokenizer.indexTokens('token', stored), [
    'sv:urn:oid:1.2.36|MRN-12345',
    'v:MRN-12345',
    's:urn:oid:1.2.36',
  ]);
  assert.ok(matches('token', stored, 'urn:oid:1.2.36|MRN-12345'));
  assert.ok(matches('token', stored, 'MRN-12345'));
  assert.ok(matches('token', stored, 'urn:oid:1.2.36|'));
  assert.equal(matches('token', stored, 'mrn-12345'), false);
  assert.equal(matches('token', stored, 'urn:oid:9|MRN-12345'), false);
  assert.equal(matches('token', stored, '|MRN-12345'), false, '|value means "no system"');
  const noSystem = formatTokenValue(undefined, 'X1');
  assert.ok(matches('token', noSystem ?? '', '|X1'));
  assert.ok(matches('token', noSystem ?? '', 'X1'));
  assert.equal(formatTokenValue(undefined, undefined), undefined);
  for (const bad of ['|', 'a|b|c', 'a\\x']) queryError('token', bad);
});

test('token escaping keeps | and , inside a system or value', () => {
  const stored = formatTokenValue('sys|tem', 'val,ue');
  assert.equal(stored, 'sys\\|tem|val\\,ue');
  assert.ok(matches('token', stored, 'sys\\|tem|val\\,ue'));
  queryError('token', 'sys|tem|val\\,ue');
  assert.deepEqual(splitUnescaped('a\\,b,c', ','), ['a\\,b', 'c']);
  assert.equal(unescapeSearchValue('a\\,b\\\\'), 'a,b\\');
  assert.equal(unescapeSearchValue('bad\\q'), undefined);
  assert.equal(escapeSearchValue('a$b'), 'a\\$b');
});

test('code tokens: exact code', () => {
  assert.deepEqual(tokenizer.indexTokens('code', 'male'), ['c:male']);
  assert.deepEqual(query('code', 'female'), ['c:female']);
  queryError('code', ' male');
});
