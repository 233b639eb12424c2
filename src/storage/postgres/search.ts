import type { SearchQuery } from '../ports.js';

/**
 * One SQL query for an AND of OR-clauses: the first clause drives a scan of
 * the (type, param, token, id) primary key, and every other clause is an
 * EXISTS probe of the same key. Tokens bind as one text[] per clause
 * (`= ANY`), so values never enter the SQL text. Index rows exist only for
 * current, non-deleted versions, so no join to `resources` is needed.
 */
export function buildPostgresSearch(query: SearchQuery, after: string): { sql: string; params: unknown[] } {
  const [first, ...rest] = query.clauses;
  if (first === undefined) throw new RangeError('search needs at least one clause');
  const params: unknown[] = [query.type, first.param, [...first.tokens], after];
  const probes = rest.map((clause, i) => {
    params.push(clause.param, [...clause.tokens]);
    const alias = `s${String(i + 1)}`;
    const p = params.length;
    return `AND EXISTS (SELECT 1 FROM search_index ${alias}
      WHERE ${alias}.type = $1 AND ${alias}.param = $${String(p - 1)}
        AND ${alias}.token = ANY($${String(p)}::text[]) AND ${alias}.id = s0.id)`;
  });
  params.push(query.limit);
  const sql = `SELECT DISTINCT s0.id AS id FROM search_index s0
    WHERE s0.type = $1 AND s0.param = $2 AND s0.token = ANY($3::text[]) AND s0.id > $4
    ${probes.join('\n    ')}
    ORDER BY s0.id LIMIT $${String(params.length)}`;
  return { sql, params };
}
