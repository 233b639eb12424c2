import { bucketRange, type MonitoringState } from './ports.js';

interface Counter {
  readonly buckets: Map<number, number>;
  expiresAt: number;
}
/**
 * Members with the instant each was last seen, kept in the Map in the order of
 * those instants (a re-seen member is moved to the end), so expiry reads from
 * the front and stops at the first live member: a request costs its own
 * members, not the caller's whole window (a bulk client reaches ~20k patients
 * an hour, and scanning them all on each request decayed throughput threefold).
 * `ordered` turns false when an event arrives older than the newest member;
 * the next expiry then scans once and sorts.
 */
interface DistinctSet {
  members: Map<string, number>;
  ordered: boolean;
  /** The latest last-seen instant appended so far. */
  newest: number;
  expiresAt: number;
}

/** Drops members last seen at or before `cutoff`. */
function expireMembers(set: DistinctSet, cutoff: number): void {
  if (!set.ordered) {
    set.members = new Map([...set.members].filter(([, seen]) => seen > cutoff).sort((a, b) => a[1] - b[1]));
    set.ordered = true;
    return;
  }
  for (const [member, seen] of set.members) {
    if (seen > cutoff) return;
    set.members.delete(member);
  }
}

/** Marks each member seen at `now`, keeping the Map in last-seen order. */
function addMembers(set: DistinctSet, members: readonly string[], now: number): void {
  for (const member of members) {
    const seen = Math.max(now, set.members.get(member) ?? now);
    set.members.delete(member);
    set.members.set(member, seen);
    if (seen < set.newest) set.ordered = false;
    else set.newest = seen;
  }
}

/** Sweep expired keys every this many operations, so idle keys do not pile up. */
const sweepEvery = 1024;

/** In-process detection state: the default with one process, and the fallback while Redis is away. */
export function createMemoryState(): MonitoringState {
  const counters = new Map<string, Counter>();
  const sets = new Map<string, DistinctSet>();
  const claims = new Map<string, number>();
  let operations = 0;

  function sweep(now: number): void {
    operations += 1;
    if (operations % sweepEvery !== 0) return;
    for (const [key, entry] of counters) if (entry.expiresAt <= now) counters.delete(key);
    for (const [key, entry] of sets) if (entry.expiresAt <= now) sets.delete(key);
    for (const [key, expiresAt] of claims) if (expiresAt <= now) claims.delete(key);
  }

  return {
    count(key, amount, windowMs, now) {
      sweep(now);
      const { bucketMs, current, oldest } = bucketRange(windowMs, now);
      let counter = counters.get(key);
      if (counter === undefined) {
        counter = { buckets: new Map(), expiresAt: 0 };
        counters.set(key, counter);
      }
      counter.buckets.set(current, (counter.buckets.get(current) ?? 0) + amount);
      counter.expiresAt = Math.max(counter.expiresAt, now + windowMs + bucketMs);
      let total = 0;
      for (const [bucket, value] of counter.buckets) {
        if (bucket < oldest) counter.buckets.delete(bucket);
        else total += value;
      }
      return Promise.resolve(total);
    },
    distinct(key, members, windowMs, now) {
      sweep(now);
      let set = sets.get(key);
      if (set === undefined) {
        set = { members: new Map(), ordered: true, newest: -Infinity, expiresAt: 0 };
        sets.set(key, set);
      }
      expireMembers(set, now - windowMs);
      const before = set.members.size;
      addMembers(set, members, now);
      set.expiresAt = Math.max(set.expiresAt, now + windowMs);
      return Promise.resolve({ before, after: set.members.size });
    },
    claim(key, ttlMs, now) {
      sweep(now);
      const expiresAt = claims.get(key);
      if (expiresAt !== undefined && expiresAt > now) return Promise.resolve(false);
      claims.set(key, now + ttlMs);
      return Promise.resolve(true);
    },
  };
}
