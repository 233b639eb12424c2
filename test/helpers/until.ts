/**
 * Waiting for another process (a child server, Redis, PostgreSQL) or a
 * background task to reach a state: poll the state with a bounded deadline,
 * never sleep a fixed time and hope. A loaded machine then only makes the
 * wait longer, and a state that never comes fails with its name.
 */

// Taken when this module loads, before any test can call t.mock.timers.enable():
// polling must go on in real time while a test moves a fake clock.
const realSetTimeout = globalThis.setTimeout;
const realNow = performance.now.bind(performance);

/** Resolves after `ms` of real time, whatever clock the test has mocked. */
function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    realSetTimeout(resolve, ms);
  });
}

/** Options of {@link until}. */
export interface UntilOptions {
  /** Between two checks (default 20 ms). */
  readonly intervalMs?: number;
}

/**
 * Resolves once `condition` holds (checked at once, then every `intervalMs`);
 * rejects naming `what` when it still does not hold after `withinMs`.
 * A condition that throws fails at once: it is a broken check, not a state to wait for.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  withinMs: number,
  what = 'the condition',
  options: UntilOptions = {},
): Promise<void> {
  const deadline = realNow() + withinMs;
  const intervalMs = options.intervalMs ?? 20;
  while (!(await condition())) {
    if (realNow() > deadline) throw new Error(`timed out after ${String(withinMs)} ms waiting for ${what}`);
    await realDelay(intervalMs);
  }
}
