import type { EdgeInput } from '../edge-input.js';
import type { EdgePolicy } from '../policy.js';
import type { Refusal } from '../refusal.js';
import { checkAllowList, checkDenyList } from './address-lists.js';
import { checkClientAddress } from './client-address.js';
import { checkPercentEncoding } from './percent-encoding.js';
import { checkPathTraversal } from './path-traversal.js';
import { checkHeaderCount, checkQueryParameterCount, checkUrlLength } from './size-limits.js';
import type { EdgeCheck } from './types.js';
import { checkBackslash, checkPathCharacters, checkQueryCharacters } from './url-characters.js';

export type { EdgeCheck } from './types.js';

/**
 * Every check a request passes at the edge, in order (docs/edge.md). The
 * client address comes first (who may talk to us at all), then sizes
 * (cheap, and they bound the work of the rest), then the content of the
 * request target. The first refusal wins.
 */
export const edgeChecks: readonly EdgeCheck[] = [
  checkClientAddress,
  checkDenyList,
  checkAllowList,
  checkUrlLength,
  checkHeaderCount,
  checkQueryParameterCount,
  checkPercentEncoding,
  checkPathCharacters,
  checkQueryCharacters,
  checkBackslash,
  checkPathTraversal,
];

/** Runs `edgeChecks`; the first refusal, or undefined. */
export function firstRefusal(input: EdgeInput, policy: EdgePolicy): Refusal | undefined {
  for (const check of edgeChecks) {
    const refusal = check(input, policy);
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}
