/**
 * The generic search model (DESIGN.md "Data protection"): a resource type
 * declares its search parameters; a pluggable tokenizer turns extracted values
 * into index tokens and query values into the tokens to look for. Tokens are
 * compared for equality only, so every semantic (case folding, prefixes, date
 * precision, token system/value) is encoded in the token text, and a blind
 * tokenizer can be `token => hmac(token)` over this one's output.
 */

/**
 * How a parameter's values are tokenized.
 * - `string`: FHIR string search (case/accent-insensitive, word or prefix).
 * - `date`: FHIR date at year, month or day precision.
 * - `token`: `system|value` pairs, case-sensitive (values use FHIR search escaping, see escape.ts).
 * - `code`: one exact code.
 */
export type SearchParameterKind = 'string' | 'date' | 'token' | 'code';

/** One search parameter of a resource type. */
export interface SearchParameterDefinition {
  readonly name: string;
  readonly kind: SearchParameterKind;
  /** The values to index, as found in the resource (for `token`: FHIR `system|value` syntax). */
  extract(resource: Readonly<Record<string, unknown>>): string[];
  /** For `code`: the only codes a query may use (a required binding). */
  readonly codes?: readonly string[];
}

/** The search parameters of one resource type. */
export interface ResourceSearchDefinition {
  readonly resourceType: string;
  readonly parameters: readonly SearchParameterDefinition[];
}

/** A query value the tokenizer refuses, with a safe reason that does not repeat it. */
export interface TokenizerError {
  readonly error: string;
}

/**
 * Turns values into equality tokens. Values of kind `token` arrive in FHIR
 * search syntax (`system|value`, escaped); values of the other kinds arrive
 * literal (the query parser has already removed the escapes). Implementations: createPlainTokenizer
 * (plaintext tokens); createBlindTokenizer (src/keys/blind-index/) maps each
 * plain token through HMAC-SHA-256 under an index key, with `parameter`
 * bound in (domain separation), and needs it; the plain tokenizer ignores it.
 */
export interface SearchTokenizer {
  /** The tokens to store for one extracted value of `parameter` (`Patient.family`); empty when it yields none. */
  indexTokens(kind: SearchParameterKind, value: string, parameter?: string): string[];
  /** The tokens of which any one must match for this query value of `parameter`, or an error. */
  queryTokens(kind: SearchParameterKind, queryValue: string, parameter?: string): string[] | TokenizerError;
}

/** The domain a parameter's tokens are bound to: `Patient.family`. */
export function parameterDomain(resourceType: string, parameterName: string): string {
  return `${resourceType}.${parameterName}`;
}

/** One AND clause of a parsed search: any of its tokens may match (OR). */
export interface SearchClause {
  readonly param: string;
  readonly tokens: readonly string[];
}

/** A refused query: the parameter it concerns and a safe reason. */
export interface SearchQueryError {
  readonly field: string;
  readonly message: string;
}

/** The result of parsing a query string against a resource's search definition. */
export type ParsedSearch =
  | { readonly clauses: readonly SearchClause[]; readonly control: Readonly<Record<string, string>> }
  | { readonly error: SearchQueryError };
