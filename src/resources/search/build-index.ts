import { CaduceusError } from '../../errors/index.js';
import type { IndexEntry } from '../../storage/ports.js';
import { parameterDomain, type ResourceSearchDefinition, type SearchTokenizer } from './types.js';

/** Caps on the index rows one resource may produce. */
export const indexLimits = Object.freeze({
  /**
   * Distinct tokens per parameter. A real patient yields a few dozen name
   * tokens; a body built to flood the index (thousands of distinct long
   * words) is refused instead of silently half-indexed.
   */
  tokensPerParameter: 1000,
});

/** Thrown by buildIndex when a resource would produce more index rows than indexLimits allow. */
export class IndexTooLargeError extends CaduceusError {
  readonly code = 'INDEX_TOO_LARGE';
  readonly operatorSafe = true;
  /** The search parameter whose tokens overflowed. */
  readonly param: string;
  constructor(param: string) {
    super('The resource has too many searchable values');
    this.name = 'IndexTooLargeError';
    this.param = param;
  }
}

/**
 * The search-index rows of a resource: for each parameter, the tokens of
 * every extracted value, deduplicated. Throws IndexTooLargeError past
 * indexLimits (callers answer 422 naming the parameter).
 */
export function buildIndex(
  definition: ResourceSearchDefinition,
  tokenizer: SearchTokenizer,
  resource: Readonly<Record<string, unknown>>,
): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const parameter of definition.parameters) {
    const seen = new Set<string>();
    const domain = parameterDomain(definition.resourceType, parameter.name);
    for (const value of parameter.extract(resource)) {
      for (const token of tokenizer.indexTokens(parameter.kind, value, domain)) {
        if (seen.has(token)) continue;
        seen.add(token);
        if (seen.size > indexLimits.tokensPerParameter) throw new IndexTooLargeError(parameter.name);
        entries.push({ param: parameter.name, token });
      }
    }
  }
  return entries;
}
