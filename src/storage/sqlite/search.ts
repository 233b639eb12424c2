import type { SearchQuery } from '../ports.js';

/**
 * One SQL query for an AND of OR-clauses: the first clause drives a range
 * scan of the (type, param, token, id) primary key, and every other clause is
 * an EXISTS probe of the same key. Tokens bind as one JSON array per clause,
 * so the statement text depends only on the clause count and is prepared once.
 * Index rows exist only for current, non-deleted versions, so no join to
 * `resources` is needed.
 */
export function buildSqliteSearch(query: SearchQuery, after: string): { sql: string; params: unknown[] } {
  const [first, ...rest] = query.clauses;
  if (first === undefined) throw new RangeError('search needs at least one clause');
  const params: unknown[] = [query.type, first.param, JSON.stringify(first.tokens), after];
  const probes = rest.map((clause, i) => {
    params.push(clause.param, JSON.stringify(clause.tokens));
    const alias = `s${String(i + 1)}`;
    return `AND EXISTS (SELECT 1 FROM search_index ${alias}
      WHERE ${alias}.type = s0.type AND ${alias}.param = ?
        AND ${alias}.token IN (SELECT value FROM json_each(?)) AND ${alias}.id = s0.id)`;
  });
  params.push(query.limit);
  const sql = `SELECT DISTINCT s0.id AS id FROM search_index s0
    WHERE s0.type = ? AND s0.param = ? AND s0.token IN (SELECT value FROM json_each(?)) AND s0.id > ?
    ${probes.join('\n    ')}
    ORDER BY s0.id LIMIT ?`;
  return { sql, params };
}
