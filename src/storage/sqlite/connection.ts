import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** A better-sqlite3 connection (the driver's own type, re-exported for the adapter files). */
export type SqliteConnection = BetterSqlite3.Database;

/** How long a writer waits for another process's lock before failing, by default. */
export const defaultBusyTimeoutMs = 5000;

/**
 * The audit log's own file beside the database: `data/caduceus.db` keeps its
 * audit rows in `data/caduceus-audit.db` (`:memory:` in a second in-memory
 * database).
 *
 * Why a second file, when DESIGN.md says "same database, own tables": in WAL
 * mode a commit by one connection makes every other connection to that file
 * drop its whole page cache at its next read. With the audit log in the
 * resource file, the group commits of a busy server emptied the request
 * path's cache between almost every two reads; a read after a commit measured
 * two to three times slower. Both files are one database to operators: the
 * same setting, migrations, backup and `caduceus audit verify`.
 */
export function sqliteAuditFile(file: string): string {
  if (file === ':memory:') return file;
  const { dir, name, ext } = path.parse(file);
  return path.join(dir, `${name}-audit${ext}`);
}

/**
 * Creates the file 0600 before SQLite opens it (SQLite gives its -wal and -shm
 * files the database file's mode), and never opens a file that exists: closing
 * any descriptor of a file drops every POSIX lock this process holds on it
 * (SQLite "How To Corrupt", §2.2), so re-opening the audit file from the
 * append worker while the main thread held it let an outside `sqlite3` reader
 * delete the live WAL under the server.
 */
function createOwnerOnly(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(fd);
}

/**
 * Opens the file (or `:memory:`) with the pragmas the design needs:
 * WAL so readers never block the writer; synchronous=FULL so a committed
 * audit row survives power loss (HIPAA 164.312(b)); foreign keys on; and a
 * busy timeout so the CLI and the server can write the same file.
 * `bulk-load` is for loads that are redone from scratch after a crash (the
 * search benchmark's seeding) and never for a server: the rollback journal
 * in memory and no syncs, so each commit writes its pages once, to the file,
 * and a crash can corrupt it. The next durable open turns WAL back on.
 */
export function openSqliteConnection(
  file: string,
  busyTimeoutMs = defaultBusyTimeoutMs,
  mode: 'durable' | 'bulk-load' = 'durable',
): SqliteConnection {
  if (file !== ':memory:') {
    // 0700 folder, 0600 files: they hold sealed PHI and the audit log; only the owner may read them.
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    createOwnerOnly(file);
  }
  const db = new BetterSqlite3(file, { timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${String(Math.max(0, Math.trunc(busyTimeoutMs)))}`);
    if (mode === 'bulk-load') {
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
      // Index pages are touched all over the file: keep 1 GiB of them in memory instead of 2 MiB.
      db.pragma('cache_size = -1048576');
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    // Sorts and temporary tables stay in memory: no spill file in the temp folder outside the 0700 data folder (docs/blind-indexes.md).
    db.pragma('temp_store = MEMORY');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
