import { isFhirDateTime, parseFhirDate } from '../fhir/calendar.js';
import type { FhirDateParts } from '../fhir/calendar.js';
import { escapeSearchValue, splitUnescaped, unescapeSearchValue } from './escape.js';
import { normalizeText, wordsOf } from './normalize.js';
import type { SearchParameterKind, SearchTokenizer, TokenizerError } from './types.js';

/**
 * The plaintext tokenizer. Token tags (all compared for equality):
 * - string: `w:<word>` a whole word or the whole normalized value;
 *   `p:<prefix>` each prefix of 3 to 32 characters of each word (and the
 *   whole word when longer than 32).
 * - date: `y:YYYY`, `m:YYYY-MM`, `d:YYYY-MM-DD`, one per precision present.
 * - token: `sv:<system>|<value>`, `v:<value>`, `s:<system>` (escaped, case-sensitive).
 * - code: `c:<code>`.
 */

/** Tokenizer bounds: they cap the index rows one value can produce. */
export const tokenizerLimits = Object.freeze({
  /** Shortest prefix indexed and matched as a prefix; shorter queries match whole words only. */
  prefixMin: 3,
  /** Longest prefix indexed; a longer query word matches only a whole word of that exact text. */
  prefixMax: 32,
  /** Words of one value that are indexed; later words are not searchable. */
  wordsPerValue: 16,
  /** Longest normalized value indexed whole (for multi-word queries). */
  wholeValueChars: 128,
});

const codePattern = /^[^\s]+(\s[^\s]+)*$/;
const dateFormat = 'YYYY, YYYY-MM or YYYY-MM-DD';

function stringIndexTokens(value: string): string[] {
  const normalized = normalizeText(value);
  const tokens: string[] = [];
  if (normalized === '') return tokens;
  if (normalized.length <= tokenizerLimits.wholeValueChars) tokens.push(`w:${normalized}`);
  for (const word of wordsOf(normalized).slice(0, tokenizerLimits.wordsPerValue)) {
    tokens.push(`w:${word}`);
    const chars = Array.from(word);
    const longest = Math.min(chars.length, tokenizerLimits.prefixMax);
    for (let n = tokenizerLimits.prefixMin; n <= longest; n += 1) tokens.push(`p:${chars.slice(0, n).join('')}`);
    if (chars.length > tokenizerLimits.prefixMax) tokens.push(`p:${word}`);
  }
  return tokens;
}

function stringQueryTokens(queryValue: string): string[] | TokenizerError {
  const normalized = normalizeText(queryValue);
  if (normalized === '') return { error: 'Must contain at least one letter or digit.' };
  // Several words: the whole normalized value must match exactly.
  if (normalized.includes(' ')) return [`w:${normalized}`];
  // One word: a prefix of 3+ characters (every word is its own prefix), or a whole short word.
  return Array.from(normalized).length >= tokenizerLimits.prefixMin ? [`p:${normalized}`] : [`w:${normalized}`];
}

function dateTokens(parts: FhirDateParts): string[] {
  const year = String(parts.year).padStart(4, '0');
  const tokens = [`y:${year}`];
  if (parts.month === undefined) return tokens;
  const month = `${year}-${String(parts.month).padStart(2, '0')}`;
  tokens.push(`m:${month}`);
  if (parts.day !== undefined) tokens.push(`d:${month}-${String(parts.day).padStart(2, '0')}`);
  return tokens;
}

function dateIndexTokens(value: string): string[] {
  // A dateTime is indexed by its date as written (its local date).
  const date = value.includes('T') && isFhirDateTime(value) ? value.slice(0, 10) : value;
  const parts = parseFhirDate(date);
  return parts === undefined ? [] : dateTokens(parts);
}

function dateQueryTokens(queryValue: string): string[] | TokenizerError {
  let value = queryValue;
  const prefix = /^([a-z]{2})/.exec(value)?.[1];
  if (prefix !== undefined) {
    // FHIR search.html#prefix: eq is the default; the comparisons are not supported yet.
    if (prefix !== 'eq') return { error: `Comparison prefixes are not supported; give a date as ${dateFormat}.` };
    value = value.slice(2);
  }
  const parts = parseFhirDate(value);
  if (parts === undefined) return { error: `Must be a calendar date as ${dateFormat}.` };
  // The query's own precision: 1974 → y:1974 matches any stored date in 1974.
  return dateTokens(parts).slice(-1);
}

interface TokenParts {
  readonly system: string | undefined;
  readonly value: string | undefined;
}

/** Parses `system|value`, `|value`, `system|` or `value` (FHIR token syntax). */
function parseToken(text: string): TokenParts | undefined {
  const pieces = splitUnescaped(text, '|')?.map(unescapeSearchValue);
  if (pieces === undefined || pieces.length > 2 || pieces.some((p) => p === undefined)) return undefined;
  const [first, second] = pieces as string[];
  if (second === undefined)
    return first === '' || first === undefined ? undefined : { system: undefined, value: first };
  if (first === '' && second === '') return undefined;
  return { system: first ?? '', value: second === '' ? undefined : second };
}

function tokenTokens(parts: TokenParts, forIndex: boolean): string[] {
  const system = parts.system === undefined ? undefined : escapeSearchValue(parts.system);
  const value = parts.value === undefined ? undefined : escapeSearchValue(parts.value);
  if (value === undefined) return [`s:${system ?? ''}`];
  if (system === undefined) return [`v:${value}`];
  const pair = `sv:${system}|${value}`;
  if (!forIndex) return [pair];
  return system === '' ? [pair, `v:${value}`] : [pair, `v:${value}`, `s:${system}`];
}

function tokenQueryTokens(queryValue: string): string[] | TokenizerError {
  const parts = parseToken(queryValue);
  if (parts === undefined) return { error: 'Must be value, system|value, system| or |value.' };
  return tokenTokens(parts, false);
}

function codeQueryTokens(queryValue: string): string[] | TokenizerError {
  return codePattern.test(queryValue)
    ? [`c:${queryValue}`]
    : { error: 'Must be a code without surrounding whitespace.' };
}

/** The plaintext tokenizer (no key: tokens are readable). */
export function createPlainTokenizer(): SearchTokenizer {
  return {
    indexTokens(kind: SearchParameterKind, value: string): string[] {
      switch (kind) {
        case 'string':
          return stringIndexTokens(value);
        case 'date':
          return dateIndexTokens(value);
        case 'token': {
          const parts = parseToken(value);
          return parts === undefined ? [] : tokenTokens(parts, true);
        }
        case 'code':
          return codePattern.test(value) ? [`c:${value}`] : [];
      }
    },
    queryTokens(kind: SearchParameterKind, queryValue: string): string[] | TokenizerError {
      switch (kind) {
        case 'string':
          return stringQueryTokens(queryValue);
        case 'date':
          return dateQueryTokens(queryValue);
        case 'token':
          return tokenQueryTokens(queryValue);
        case 'code':
          return codeQueryTokens(queryValue);
      }
    },
  };
}
