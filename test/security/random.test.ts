import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomHexId } from '../../src/lib/random.js';

test('request ids are 32 lowercase hex characters and never repeat, across refills of the entropy pool', () => {
  const ids = Array.from({ length: 2_000 }, () => randomHexId());
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(new Set(ids).size, ids.length);
  // Every hex digit appears in every position over 2 000 ids: the bytes are not a constant or a counter.
  for (let position = 0; position < 32; position += 1) {
    assert.equal(new Set(ids.map((id) => id[position])).size, 16, `position ${position}`);
  }
});
