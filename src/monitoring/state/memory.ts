import { bucketRange, type MonitoringState } from './ports.js';

interface Counter {
  readonly buckets: Map<number, number>;
  expiresAt: number;
}
interface DistinctSet {
  readonly members: Map<string, number>;
  expiresAt: number;
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
        set = { members: new Map(), expiresAt: 0 };
        sets.set(key, set);
      }
      const cutoff = now - windowMs;
      for (const [member, seen] of set.members) if (seen <= cutoff) set.members.delete(member);
      const before = set.members.size;
      for (const member of members) set.members.set(member, Math.max(now, set.members.get(member) ?? now));
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
