import { createPlainTokenizer } from './plain-tokenizer.js';
import type { SearchParameterKind, SearchTokenizer, TokenizerError } from './types.js';
import { blindToken } from '../../keys/blind-index/format.js';
import type { IndexKeySnapshot } from '../../keys/blind-index/key-ring.js';

function domainOf(parameter: string | undefined): string {
  // Every caller in src/ passes it (build-index.ts, parse-query.ts); a token without its domain would not be separated.
  if (parameter === undefined || parameter === '') throw new TypeError('a blind tokenizer needs the parameter domain');
  return parameter;
}

/**
 * The keyed tokenizer (DESIGN.md "Data protection"; docs/blind-indexes.md):
 * the plain tokenizer's tokens (normalized words, bounded prefixes, date
 * precisions, system|value) each become `blindToken` under an index key, so
 * the search semantics are exactly the plain ones. Index rows use the
 * written key; a query looks for its tokens under every searched key, so
 * results stay complete while a rotation re-indexes.
 */
export function createBlindTokenizer(
  keys: () => IndexKeySnapshot,
  plain: SearchTokenizer = createPlainTokenizer(),
): SearchTokenizer {
  return {
    indexTokens(kind: SearchParameterKind, value: string, parameter?: string): string[] {
      const domain = domainOf(parameter);
      const { written } = keys();
      return plain.indexTokens(kind, value, domain).map((token) => blindToken(written, domain, token));
    },
    queryTokens(kind: SearchParameterKind, queryValue: string, parameter?: string): string[] | TokenizerError {
      const domain = domainOf(parameter);
      const result = plain.queryTokens(kind, queryValue, domain);
      if ('error' in result) return result;
      const out: string[] = [];
      for (const key of keys().searched) for (const token of result) out.push(blindToken(key, domain, token));
      return out;
    },
  };
}
