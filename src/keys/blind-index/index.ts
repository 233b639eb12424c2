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
