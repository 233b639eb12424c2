export { blindToken, indexKeyBytes, macBytes, tokenPrefixOf, type IndexKey } from './format.js';
export {
  createIndexKey,
  indexKeyRefreshMs,
  openIndexKeyRing,
  throughBreaker,
  unwrapIndexKey,
  type IndexKeyRing,
  type IndexKeyRingOptions,
  type IndexKeySnapshot,
  type KeyCall,
} from './key-ring.js';
export { openSearchTokenization, type SearchTokenization, type SearchTokenizationDependencies } from './open.js';
export {
  rotateIndexKey,
  searchableResources,
  type IndexRotationDependencies,
  type IndexRotationOptions,
  type IndexRotationProgressEvent,
  type IndexRotationResult,
} from './rotate.js';
export { createBlindTokenizer } from './tokenizer.js';
