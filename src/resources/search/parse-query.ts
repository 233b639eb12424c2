import { splitUnescaped, unescapeSearchValue } from './escape.js';
import {
  parameterDomain,
  type ParsedSearch,
  type ResourceSearchDefinition,
  type SearchClause,
  type SearchParameterDefinition,
  type SearchQueryError,
  type SearchTokenizer,
} from './types.js';

/** Bounds on one search request, so a query cannot fan out into unbounded work. */
export const queryLimits = Object.freeze({
  /** Characters in one parameter value (before splitting on commas). */
  valueChars: 256,
  /** Comma-separated alternatives in one value. */
  alternatives: 16,
  /** AND clauses in one query. */
  clauses: 16,
});

/** Parameters handled by the caller (paging), not by the index. */
export const defaultControlParameters: readonly string[] = ['_count', '_cursor'];

// A parameter name the client sent is repeated in an error only if it looks like one.
const parameterName = /^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$/;

function fail(field: string, message: string): { error: SearchQueryError } {
  return { error: { field: parameterName.test(field) ? field : '(unrecognized parameter)', message } };
}

function alternativesOf(parameter: SearchParameterDefinition, value: string): string[] | string {
  if (value === '') return 'Must not be empty.';
  if (value.length > queryLimits.valueChars) return `Must be at most ${queryLimits.valueChars} characters long.`;
  const pieces = splitUnescaped(value, ',');
  if (pieces === undefined) return 'Has a malformed backslash escape.';
  if (pieces.length > queryLimits.alternatives)
    return `Must have at most ${queryLimits.alternatives} comma-separated values.`;
  const out: string[] = [];
  for (const piece of pieces) {
    // Token values keep their escapes: the tokenizer still has to find the unescaped `|`.
    const literal = parameter.kind === 'token' ? piece : unescapeSearchValue(piece);
    if (literal === undefined) return 'Has a malformed backslash escape.';
    if (literal === '') return 'Must not contain an empty value.';
    if (parameter.codes !== undefined && !parameter.codes.includes(literal))
      return `Must be one of: ${parameter.codes.join(', ')}.`;
    out.push(literal);
  }
  return out;
}

/** One AND clause from one parameter value: the union of its alternatives' tokens (OR). */
function clauseOf(
  parameter: SearchParameterDefinition,
  tokenizer: SearchTokenizer,
  value: string,
  domain: string,
): SearchClause | string {
  const alternatives = alternativesOf(parameter, value);
  if (typeof alternatives === 'string') return alternatives;
  const tokens = new Set<string>();
  for (const alternative of alternatives) {
    const result = tokenizer.queryTokens(parameter.kind, alternative, domain);
    if ('error' in result) return result.error;
    for (const token of result) tokens.add(token);
  }
  return { param: parameter.name, tokens: [...tokens] };
}

/**
 * Parses a query string (as Fastify gives it) into AND clauses of OR tokens,
 * FHIR search.html#combining: a repeated parameter is AND, a comma-separated
 * value is OR. Control parameters are returned as-is for the caller. Unknown
 * parameters are refused (FHIR "handling=strict"), naming the parameter.
 */
export function parseSearchQuery(
  definition: ResourceSearchDefinition,
  tokenizer: SearchTokenizer,
  query: Readonly<Record<string, string | readonly string[] | undefined>>,
  controlParameters: readonly string[] = defaultControlParameters,
): ParsedSearch {
  const clauses: SearchClause[] = [];
  const control: Record<string, string> = {};
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const values = typeof raw === 'string' ? [raw] : raw;
    if (controlParameters.includes(name)) {
      const [only] = values;
      if (values.length !== 1 || only === undefined) return fail(name, 'Must not be repeated.');
      if (only === '') return fail(name, 'Must not be empty.');
      control[name] = only;
      continue;
    }
    const parameter = definition.parameters.find((p) => p.name === name);
    if (parameter === undefined) return fail(name, 'Unknown search parameter.');
    for (const value of values) {
      const clause = clauseOf(parameter, tokenizer, value, parameterDomain(definition.resourceType, parameter.name));
      if (typeof clause === 'string') return fail(name, clause);
      clauses.push(clause);
      if (clauses.length > queryLimits.clauses)
        return fail(name, `A search may have at most ${queryLimits.clauses} conditions.`);
    }
  }
  return { clauses, control };
}
