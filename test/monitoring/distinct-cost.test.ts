/**
 * The in-process distinct set costs a request its own members, not the
 * caller's whole window: a bulk client that reaches tens of thousands of
 * patients an hour made every request scan all of them, and throughput
 * decayed threefold over a 5-minute soak. Counted, not timed: the test counts
 * the Map entries each call walks.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryState } from '../../src/monitoring/state/memory.js';

type MapIterator = Map<unknown, unknown>[typeof Symbol.iterator];

/** Counts the entries any Map iteration yields while `work` runs (this test file's process only). */
async function entriesWalked(t: TestContext, work: () => Promise<unknown>): Promise<number> {
  const original: MapIterator = Map.prototype[Symbol.iterator];
  let walked = 0;
  const counting = function (this: Map<unknown, unknown>) {
    const inner = original.call(this);
    return {
      next() {
        const step = inner.next();
        if (step.done !== true) walked += 1;
        return step;
      },
      [Symbol.iterator]() {
        return this;
      },
    };
  };
  Map.prototype[Symbol.iterator] = counting as unknown as MapIterator;
  t.after(() => {
    Map.prototype[Symbol.iterator] = original;
  });
  try {
    await work();
  } finally {
    Map.prototype[Symbol.iterator] = original;
  }
  return walked;
}

const hourMs = 3_600_000;

test('one caller with 100,000 patients in the window: a request walks a handful of entries, not the window', async (t) => {
  const state = createMemoryState();
  const start = 1_700_000_000_000;
  for (let i = 0; i < 100_000; i += 1) await state.distinct('snoop:bulk', [`p${String(i)}`], hourMs, start + i);
  const now = start + 100_000;
  const walked = await entriesWalked(t, async () => {
    for (let i = 0; i < 100; i += 1) await state.distinct('snoop:bulk', [`q${String(i)}`], hourMs, now + i);
  });
  assert.ok(walked <= 200, `100 requests walked ${String(walked)} entries`);
  const { before, after } = await state.distinct('snoop:bulk', ['q0'], hourMs, now + 200);
  assert.deepEqual({ before, after }, { before: 100_100, after: 100_100 });
});

test('expiry still drops exactly the members last seen at or before the window start', async () => {
  const state = createMemoryState();
  await state.distinct('k', ['a', 'b'], 1000, 0);
  await state.distinct('k', ['c'], 1000, 500);
  await state.distinct('k', ['a'], 1000, 900); // a is seen again: it lives on
  assert.deepEqual(await state.distinct('k', [], 1000, 1000), { before: 2, after: 2 }); // b (0) has expired
  assert.deepEqual(await state.distinct('k', [], 1000, 1500), { before: 1, after: 1 }); // c (500) too
  assert.deepEqual(await state.distinct('k', [], 1000, 1900), { before: 0, after: 0 });
});

test('an event older than the newest member still expires on time', async () => {
  const state = createMemoryState();
  await state.distinct('k', ['late'], 1000, 800);
  await state.distinct('k', ['early'], 1000, 100); // arrives after a newer one
  assert.deepEqual(await state.distinct('k', [], 1000, 1100), { before: 1, after: 1 }); // early (100) gone, late stays
  assert.deepEqual(await state.distinct('k', [], 1000, 1800), { before: 0, after: 0 });
});
