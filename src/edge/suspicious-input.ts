/**
 * Signatures of SQL injection and cross-site scripting in input values.
 * They are signals for monitoring, not the defence: queries are
 * parameterized, schemas are strict and output is JSON, so this text is
 * harmless by design (docs/edge.md). Every pattern is bounded (no unbounded
 * or nested quantifiers) so that scanning stays linear on hostile input.
 */

/** The signature a suspicious value matched; reported, never the value. */
export type SuspiciousRule =
  | 'sql_tautology'
  | 'sql_comment'
  | 'sql_union'
  | 'sql_stacked_query'
  | 'sql_time_delay'
  | 'script_tag'
  | 'script_url'
  | 'event_handler'
  | 'path_traversal';

/** Where in the request a signature was found. */
export type InputLocation = 'query' | 'body';

interface Signature {
  readonly rule: SuspiciousRule;
  readonly pattern: RegExp;
}

const signatures: readonly Signature[] = [
  // `' OR 1=1`, `" or "a"="a`: a quote closing a literal, then a boolean that is always true. O'Brien has no operator after it.
  {
    rule: 'sql_tautology',
    pattern: /['"`]\s{0,8}(?:or|and|\|\||&&)\s{1,8}['"`]?\w{1,32}['"`]?\s{0,8}(?:=|<|>|like\s)/i,
  },
  // `admin'--`, `x' #`, `1' /*`: a literal closed and the rest of the statement commented out (a dash after a quote mid-sentence is prose).
  { rule: 'sql_comment', pattern: /['"`]\s{0,8}(?:--|#)[\s-]{0,8}$|['"`]\s{0,8}\/\*/ },
  { rule: 'sql_union', pattern: /\bunion[\s/*()]{1,16}(?:all[\s/*()]{1,16}|distinct[\s/*()]{1,16})?select\b/i },
  {
    rule: 'sql_stacked_query',
    pattern: /;\s{0,8}(?:drop|delete|insert|update|alter|create|truncate|exec|execute|shutdown|grant)\s/i,
  },
  // A bare `sleep (8 h)` is a clinical note; `pg_sleep(`, `benchmark(`, `waitfor delay` and `' and sleep(` are not.
  {
    rule: 'sql_time_delay',
    pattern: /\b(?:pg_sleep|benchmark)\s{0,8}\(|\bwaitfor\s{1,8}delay\b|['"`]\s{0,8}(?:or|and)\s{1,8}sleep\s{0,8}\(/i,
  },
  { rule: 'script_tag', pattern: /<\s{0,8}\/?\s{0,8}script\b/i },
  { rule: 'script_url', pattern: /\b(?:javascript|vbscript|livescript)\s{0,8}:|\bdata\s{0,8}:\s{0,8}text\/html/i },
  { rule: 'event_handler', pattern: /<[a-z][^>]{0,256}?[\s/"']on[a-z]{3,32}\s{0,8}=/i },
  { rule: 'path_traversal', pattern: /(?:^|[/\\])\.\.(?:[/\\]|$)/ },
];

/** One pass over a value finds whether any signature is present; only then are they told apart. */
const anySignature = new RegExp(signatures.map((signature) => `(?:${signature.pattern.source})`).join('|'), 'i');

/** Adds to `found` every signature in `text`. */
function match(text: string, found: Set<SuspiciousRule>): void {
  if (!anySignature.test(text)) return;
  for (const signature of signatures) {
    if (signature.pattern.test(text)) found.add(signature.rule);
  }
}

/** How much text one location of one request may cost to scan; the rest is not looked at. */
const scanBudgetChars = 256 * 1024;
/** How many JSON nodes one body may cost to walk. */
const maxNodes = 10_000;

/**
 * Signatures in the string leaves of a parsed value (a JSON body, or a
 * parsed query string: strings and arrays of strings), walked without
 * recursion and within the budgets above.
 */
export function scanValues(value: unknown): Set<SuspiciousRule> {
  const found = new Set<SuspiciousRule>();
  const pending: unknown[] = [value];
  let budget = scanBudgetChars;
  let nodes = 0;
  while (pending.length > 0 && budget > 0 && nodes < maxNodes) {
    const next = pending.pop();
    nodes += 1;
    if (typeof next === 'string') {
      match(next.length > budget ? next.slice(0, budget) : next, found);
      budget -= next.length;
    } else if (Array.isArray(next)) {
      pending.push(...(next as unknown[]));
    } else if (typeof next === 'object' && next !== null) {
      pending.push(...(Object.values(next) as unknown[]));
    }
  }
  return found;
}
