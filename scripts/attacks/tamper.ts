/**
 * The one attack the API cannot be made to do: an attacker with write access
 * to the database file (or a PostgreSQL login) moves a sealed body from one
 * row to another. Envelope encryption binds each body to its type, id and
 * version (docs/key-management.md), so the server must refuse to open it.
 * This needs database access by design; nothing here goes through the API.
 */
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { parsePostgresUrl } from '../../src/storage/postgres/url.js';

/** A record in the resource tables. */
export interface RecordRef {
  readonly type: string;
  readonly id: string;
}

/** Puts the original body back. */
export type Restore = () => Promise<void>;

function isPostgres(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

/** The same two statements for both databases; only the placeholders differ. */
const currentBody = (p: (n: number) => string): string =>
  `SELECT v.version, v.body FROM resources r JOIN resource_versions v ON v.type = r.type AND v.id = r.id AND v.version = r.version WHERE r.type = ${p(1)} AND r.id = ${p(2)}`;
const writeBody = (p: (n: number) => string): string =>
  `UPDATE resource_versions SET body = ${p(1)} WHERE type = ${p(2)} AND id = ${p(3)} AND version = ${p(4)}`;

interface Row {
  version: number;
  body: Buffer;
}

function moveInSqlite(file: string, from: RecordRef, to: RecordRef): Restore {
  // The server holds the file open in WAL mode; a busy timeout waits for its writes instead of failing.
  const db = new BetterSqlite3(file, { fileMustExist: true, timeout: 5000 });
  try {
    const read = db.prepare<[string, string], Row>(currentBody(() => '?'));
    const write = db.prepare<[Buffer, string, string, number]>(writeBody(() => '?'));
    const source = read.get(from.type, from.id);
    const target = read.get(to.type, to.id);
    if (source === undefined || target === undefined)
      throw new Error('the records to tamper with are not in the database');
    write.run(source.body, to.type, to.id, target.version);
    return () => {
      const again = new BetterSqlite3(file, { fileMustExist: true, timeout: 5000 });
      try {
        again
          .prepare<[Buffer, string, string, number]>(writeBody(() => '?'))
          .run(target.body, to.type, to.id, target.version);
      } finally {
        again.close();
      }
      return Promise.resolve();
    };
  } finally {
    db.close();
  }
}

/** A client the way the server connects: our `?schema=NAME` becomes its search_path (src/storage/postgres/pool.ts). */
async function connectPostgres(url: string): Promise<pg.Client> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const client = new pg.Client({
    connectionString,
    ...(schema !== undefined && { options: `-c search_path=${schema}` }),
  });
  await client.connect();
  return client;
}

async function moveInPostgres(url: string, from: RecordRef, to: RecordRef): Promise<Restore> {
  const client = await connectPostgres(url);
  try {
    const read = async (ref: RecordRef): Promise<Row | undefined> =>
      (
        await client.query<Row>(
          currentBody((n) => `$${n}`),
          [ref.type, ref.id],
        )
      ).rows[0];
    const source = await read(from);
    const target = await read(to);
    if (source === undefined || target === undefined)
      throw new Error('the records to tamper with are not in the database');
    await client.query(
      writeBody((n) => `$${n}`),
      [source.body, to.type, to.id, target.version],
    );
    return async () => {
      const again = await connectPostgres(url);
      try {
        await again.query(
          writeBody((n) => `$${n}`),
          [target.body, to.type, to.id, target.version],
        );
      } finally {
        await again.end();
      }
    };
  } finally {
    await client.end();
  }
}

/**
 * Copies the sealed body of `from`'s current version over `to`'s current
 * version, in SQLite (a file path) or PostgreSQL (a postgres:// URL).
 * Resolves to the function that restores `to`.
 */
export async function moveSealedBody(databaseUrl: string, from: RecordRef, to: RecordRef): Promise<Restore> {
  return isPostgres(databaseUrl) ? moveInPostgres(databaseUrl, from, to) : moveInSqlite(databaseUrl, from, to);
}
