import type { Statement } from 'better-sqlite3';
import type { SqliteConnection } from './connection.js';

/** What one cached read costs in memory, so the cache is bounded in bytes, not only entries. */
export type SizeOf<T> = (value: T) => number;

/** Bounds: entries this large are never cached; the whole cache never holds more than this. */
const maxEntryBytes = 64 * 1024;
const maxTotalBytes = 16 * 1024 * 1024;

/**
 * Point reads of one SQLite connection, remembered while the file is
 * unchanged: `PRAGMA data_version` changes when any other connection (a CLI
 * run, a second process) commits, and this connection's own writes call
 * `invalidate()`. So a revocation or an update is seen by the very next read,
 * whoever wrote it.
 *
 * Why: the request path reads the revocation keys and the current version of
 * a resource on every request; in the running server those two point reads
 * took a quarter of the CPU (15–25 µs each, bench/README.md), while the
 * data_version check is one pragma. Hand-written: the invalidation rule is
 * SQLite's, and no cache library knows it. Values are what the store returns
 * (sealed bodies once encryption is on), never decrypted PHI; they are shared
 * between callers, who must not mutate them (StoredVersion is read-only).
 */
export class SqliteReadCache {
  readonly #dataVersion: Statement<[], number>;
  readonly #entries = new Map<string, { value: unknown; bytes: number }>();
  #seenVersion: number | undefined;
  #checkedThisTurn = false;
  #bytes = 0;

  constructor(db: SqliteConnection) {
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /**
   * Checks whether another connection committed; then read() as often as
   * needed. One check serves the rest of the current synchronous turn: a
   * search page reads up to a hundred resources in one turn, and reads that
   * close together cannot tell a commit between them from one just after.
   */
  fresh(): this {
    if (this.#checkedThisTurn) return this;
    this.#checkedThisTurn = true;
    queueMicrotask(() => {
      this.#checkedThisTurn = false;
    });
    const version = this.#dataVersion.get();
    if (version !== this.#seenVersion) {
      this.invalidate();
      this.#seenVersion = version;
    }
    return this;
  }

  /** The remembered value of `key`, or `load()`'s, remembered if small enough. Call after fresh(), inside runSqlite. */
  read<T>(key: string, load: () => T, sizeOf: SizeOf<T>): T {
    const hit = this.#entries.get(key);
    if (hit !== undefined) return hit.value as T;
    const value = load();
    const bytes = sizeOf(value) + key.length;
    if (bytes <= maxEntryBytes) {
      this.#entries.set(key, { value, bytes });
      this.#bytes += bytes;
      this.#evict();
    }
    return value;
  }

  /** This connection wrote: nothing remembered may be trusted. */
  invalidate(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Oldest first (Map keeps insertion order). */
  #evict(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= maxTotalBytes) return;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
    }
  }
}
