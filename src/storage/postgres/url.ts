import { StorageError } from '../errors.js';

/** A schema name we can safely splice into DDL and a search_path (lower-case identifier, ≤ 63 bytes). */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** A PostgreSQL URL split into what pg understands and our own `schema` parameter. */
export interface PostgresTarget {
  /** The URL without `schema=`, handed to pg unchanged otherwise. */
  readonly connectionString: string;
  /** The schema every connection uses, when the URL names one. */
  readonly schema: string | undefined;
}

/** Parses `postgres://…?schema=NAME`, validating NAME; throws StorageError('invalid') without echoing the URL. */
export function parsePostgresUrl(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new StorageError('open', 'invalid', { cause: error });
  }
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { connectionString: url, schema: undefined };
  if (!schemaPattern.test(schema)) throw new StorageError('open', 'invalid');
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/** `postgres://host:port/db` (plus `?schema=`): no user, no password, no other parameters. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port === '' ? '5432' : parsed.port;
    const host = parsed.hostname === '' ? 'localhost' : parsed.hostname;
    const schema = parsed.searchParams.get('schema');
    const suffix = schema !== null && schemaPattern.test(schema) ? `?schema=${schema}` : '';
    return `postgres://${host}:${port}${parsed.pathname}${suffix}`;
  } catch {
    return 'postgres (unparseable url)';
  }
}
