import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/audit/canonical.js';
import { chainHash, GENESIS_PREV_HASH } from '../../src/audit/chain.js';

test('canonical JSON sorts keys at every depth and drops whitespace', () => {
  const value = { b: [3, { z: 1, a: 'x' }], a: { d: null, c: true } };
  assert.equal(canonicalJson(value), '{"a":{"c":true,"d":null},"b":[3,{"a":"x","z":1}]}');
});

test('canonical JSON orders keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
  // U+20AC (€) sorts before U+1F600 (surrogate pair D83D..), and 'B' before 'a'.
  assert.equal(canonicalJson({ '\u{1F600}': 1, '\u20ac': 2, a: 3, B: 4 }), '{"B":4,"a":3,"€":2,"😀":1}');
});

test('canonical JSON prints numbers as ECMAScript does and escapes strings', () => {
  assert.equal(canonicalJson([1e21, 0.1, -0, 1.5e-7, 100]), '[1e+21,0.1,0,1.5e-7,100]');
  assert.equal(canonicalJson('a"b\\c\n\u0001'), '"a\\"b\\\\c\\n\\u0001"');
});

test('canonical JSON leaves out undefined members and refuses non-JSON values', () => {
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.throws(() => canonicalJson({ n: Number.NaN }), TypeError);
  assert.throws(() => canonicalJson({ n: Infinity }), TypeError);
  assert.throws(() => canonicalJson({ n: 1n }), TypeError);
  assert.throws(() => canonicalJson([undefined]), TypeError);
  assert.throws(() => canonicalJson({ d: new Date(0) }), TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), TypeError);
});

test('canonical JSON accepts a value seen twice when it is not a cycle', () => {
  const shared = { x: 1 };
  assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}');
});

test('chainHash is hex SHA-256 of prevHash, a newline and the payload', () => {
  // Vectors computed with `printf '\n{"a":1}' | sha256sum` and `printf 'abc\n{}' | sha256sum`.
  assert.equal(
    chainHash(GENESIS_PREV_HASH, '{"a":1}'),
    '7395dc66860499cb2b8970e17094ec53ed1ff54e7067ad619f884917096166b0',
  );
  assert.equal(chainHash('abc', '{}'), 'b4157e40dd21db67528800eb46fe6641eaa5e321734b6890e43e9ce6ed37d91b');
});

test('canonical JSON accepts 64 levels of nesting and refuses deeper values', () => {
  const nest = (levels: number): unknown => (levels === 0 ? 1 : { a: [nest(levels - 1)] });
  assert.doesNotThrow(() => canonicalJson(nest(32)));
  assert.throws(() => canonicalJson(nest(33)), TypeError);
});
