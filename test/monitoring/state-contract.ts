import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MonitoringState } from '../../src/monitoring/state/ports.js';

const minute = 60_000;
/** Aligned to a window of 1 and 10 minutes, so bucket edges are where the tests expect them. */
const base = Date.parse('2025-01-14T10:00:00.000Z');

/** A fresh, isolated state and the way time passes for what it expires on its own. */
export interface StateUnderTest {
  readonly state: MonitoringState;
  /**
   * Lets at least `ms` pass on the clock the adapter expires claims by: nothing
   * to wait for when that is the `now` each call is given (in-process), the
   * server's clock when it is Redis's (`SET PX`).
   */
  readonly elapse: (ms: number) => Promise<void>;
}

/**
 * The contract every MonitoringState adapter passes (STYLE.md #2).
 * `open` gives a fresh, isolated state per test.
 */
export function monitoringStateContract(
  name: string,
  open: () => Promise<StateUnderTest>,
  skip: string | false = false,
): void {
  test(`${name}: counters sum amounts per key within the sliding window`, { skip }, async () => {
    const { state } = await open();
    assert.equal(await state.count('a', 1, 10 * minute, base), 1);
    assert.equal(await state.count('a', 5, 10 * minute, base + minute), 6);
    assert.equal(await state.count('b', 2, 10 * minute, base + minute), 2, 'keys are independent');
    assert.equal(await state.count('a', 1, 10 * minute, base + 9 * minute), 7, 'still inside the window');
    assert.equal(await state.count('a', 1, 10 * minute, base + 10 * minute), 7, 'the first minute (1) slid out');
    assert.equal(await state.count('a', 1, 10 * minute, base + 11 * minute), 3, 'the second minute (5) slid out');
    assert.equal(await state.count('a', 1, 10 * minute, base + 30 * minute), 1, 'everything slid out');
  });

  test(`${name}: concurrent increments are atomic: each caller sees a distinct total`, { skip }, async () => {
    const { state } = await open();
    const totals = await Promise.all(Array.from({ length: 40 }, () => state.count('c', 1, minute, base)));
    assert.deepEqual(
      [...totals].sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });

  test(`${name}: distinct sets count members once within the window`, { skip }, async () => {
    const { state } = await open();
    assert.deepEqual(await state.distinct('d', ['p1', 'p2'], 10 * minute, base), { before: 0, after: 2 });
    assert.deepEqual(await state.distinct('d', ['p2', 'p3', 'p3'], 10 * minute, base + minute), {
      before: 2,
      after: 3,
    });
    assert.deepEqual(await state.distinct('d', [], 10 * minute, base + minute), { before: 3, after: 3 });
    assert.deepEqual(
      await state.distinct('e', ['p1'], 10 * minute, base),
      { before: 0, after: 1 },
      'keys are independent',
    );
    // p1 was last seen at base, p2 and p3 at base + 1 min: at base + 10 min p1 has left the window.
    assert.deepEqual(await state.distinct('d', ['p4'], 10 * minute, base + 10 * minute), { before: 2, after: 3 });
    assert.deepEqual(await state.distinct('d', ['p1'], 10 * minute, base + 30 * minute), { before: 0, after: 1 });
  });

  test(`${name}: concurrent adds of one new member: exactly one caller sees it added`, { skip }, async () => {
    const { state } = await open();
    await state.distinct('n', ['home'], minute, base);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => state.distinct('n', ['elsewhere'], minute, base + 1000)),
    );
    assert.equal(results.filter((result) => result.after > result.before).length, 1);
  });

  test(`${name}: a claim is granted once until it expires`, { skip }, async () => {
    const { state, elapse } = await open();
    const now = base;
    const claims = await Promise.all(Array.from({ length: 10 }, () => state.claim('k', 200, now)));
    assert.equal(claims.filter(Boolean).length, 1);
    assert.equal(await state.claim('other', 200, now), true);
    await elapse(300);
    assert.equal(await state.claim('k', 200, now + 300), true, 'free again after its time to live');
  });
}
