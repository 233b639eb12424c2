import type { Logger } from 'pino';
import type { SearchTokenizer } from './types.js';
import type { IndexKeyStore } from '../../storage/ports.js';
import type { KeyWrapper } from '../../keys/ports.js';
import { openIndexKeyRing, type KeyCall } from '../../keys/blind-index/key-ring.js';
import { createBlindTokenizer } from './blind-tokenizer.js';

/** The search tokenizer a process uses, and what to stop at shutdown. */
export interface SearchTokenization {
  /** The blind tokenizer; undefined with CADUCEUS_ENCRYPTION=off (plain tokens, docs/blind-indexes.md). */
  readonly tokenizer: SearchTokenizer | undefined;
  close(): void;
}

/** What {@link openSearchTokenization} needs. */
export interface SearchTokenizationDependencies {
  /** The key wrapper of envelope encryption; null when encryption is off. */
  readonly wrapper: KeyWrapper | null;
  readonly store: IndexKeyStore;
  readonly logger: Logger;
  readonly run?: KeyCall;
  readonly refreshMs?: number;
}

/**
 * With encryption on: loads the index keys (creating the first one) and
 * returns the blind tokenizer over them; with it off, no tokenizer (the
 * resource definitions then use the plain one).
 */
export async function openSearchTokenization(deps: SearchTokenizationDependencies): Promise<SearchTokenization> {
  if (deps.wrapper === null) return { tokenizer: undefined, close: () => undefined };
  const ring = await openIndexKeyRing({
    store: deps.store,
    wrapper: deps.wrapper,
    ...(deps.run !== undefined && { run: deps.run }),
    ...(deps.refreshMs !== undefined && { refreshMs: deps.refreshMs }),
    // The last keys stay in use; a rotation waits for every process anyway.
    onRefreshError: () => {
      deps.logger.warn({ event: 'index_keys.refresh_failed' }, 'index keys could not be re-read; using the last ones');
    },
  });
  return {
    tokenizer: createBlindTokenizer(() => ring.snapshot()),
    close: () => {
      ring.close();
    },
  };
}
