/**
 * Index-key rotation (docs/blind-indexes.md "Rotation"), without downtime and
 * resumable: every step is recorded in the IndexKeyStore, so a run that
 * crashed picks up where the stored state says it stopped.
 *
 * 1. A new key is stored `searched`; after `graceMs` every process looks
 *    for its tokens too (processes re-read the keys every indexKeyRefreshMs).
 * 2. It becomes the `written` key and the old one `searched`; after `graceMs`
 *    every process makes new rows with the new key.
 * 3. Every current resource is read, opened and re-indexed under the new key
 *    with a version-conditional replace (a newer write is never overwritten);
 *    progress is saved after each batch.
 * 4. A sweep re-indexes any resource still holding a row under the old key
 *    (a write that was in flight across step 2), then the old key is retired.
 * Searches stay complete throughout: they look under every live key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { patientSearch } from '../resources/patient/search-params.js';
import { buildIndex } from '../resources/search/build-index.js';
import type { ResourceSearchDefinition } from '../resources/search/types.js';
import type { Database, StoredIndexKey } from '../storage/ports.js';
import type { KeyWrapper, Sealer } from '../keys/ports.js';
import { RotationInterruptedError } from './context.js';
import { tokenPrefixOf, type IndexKey } from '../keys/blind-index/format.js';
import { createIndexKey, indexKeyRefreshMs, unwrapIndexKey, type KeyCall } from '../keys/blind-index/key-ring.js';
import { createBlindTokenizer } from '../resources/search/blind-tokenizer.js';

/** Every searchable resource type (a new type's search definition joins this list). */
export const searchableResources: readonly ResourceSearchDefinition[] = [patientSearch];

/** What a rotation reads and writes. */
export interface IndexRotationDependencies {
  readonly db: Pick<Database, 'resources' | 'indexKeys'>;
  /** Wraps the new index key and unwraps stored ones (the deployment's KEK). */
  readonly wrapper: KeyWrapper;
  /** Opens stored bodies to re-index them. */
  readonly sealer: Sealer;
  /** Runs key-manager calls, e.g. through a breaker. */
  readonly run?: KeyCall;
  /** Default {@link searchableResources}. */
  readonly resources?: readonly ResourceSearchDefinition[];
}

/** Where a rotation is, for a progress bar. */
export interface IndexRotationProgressEvent {
  readonly phase: 'introducing' | 'switching' | 'reindexing' | 'sweeping' | 'retired';
  /** The new index key. */
  readonly keyId: string;
  /** Resources re-indexed so far (this run and any crashed run before it). */
  readonly done: number;
  /** Current resources when re-indexing began. */
  readonly total: number;
}

/** Options of {@link rotateIndexKey}. */
export interface IndexRotationOptions {
  readonly onProgress?: (event: IndexRotationProgressEvent) => void;
  /** Wait between steps so every process has re-read the keys; default indexKeyRefreshMs + 5 s. */
  readonly graceMs?: number;
  /** Resources per batch (and per progress save); default 200. */
  readonly batchSize?: number;
  /** Aborting stops the rotation between batches (progress saved) with RotationInterruptedError; running it again resumes. */
  readonly signal?: AbortSignal;
}

/** The outcome of a rotation. */
export interface IndexRotationResult {
  /** The index key now written and searched. */
  readonly keyId: string;
  /** The key retired; null when there was none (the first key, e.g. after turning encryption on). */
  readonly retiredKeyId: string | null;
  /** Resources re-indexed (this run and any crashed run before it). */
  readonly reindexed: number;
  /** True when this run continued a rotation a crashed run had begun. */
  readonly resumed: boolean;
}

const decoder = new TextDecoder();
/** A write racing the re-index of one resource wins; we re-read, at most this many times. */
const maxAttempts = 5;

interface Rotation {
  readonly deps: IndexRotationDependencies;
  readonly resources: readonly ResourceSearchDefinition[];
  readonly batch: number;
  readonly key: IndexKey;
  readonly report: (phase: IndexRotationProgressEvent['phase'], done: number) => void;
  readonly signal: AbortSignal | undefined;
}

function checkpoint(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new RotationInterruptedError();
}

/** Waits a grace period; an abort ends the wait at once. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  checkpoint(signal);
  await sleep(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
  checkpoint(signal);
}

/** Re-indexes one resource under the new key; false when it is gone or deleted. */
async function reindexOne(r: Rotation, search: ResourceSearchDefinition, id: string): Promise<boolean> {
  const { db, sealer } = r.deps;
  const tokenizer = createBlindTokenizer(() => ({ written: r.key, searched: [r.key] }));
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    const stored = await db.resources.readCurrent(search.resourceType, id);
    if (stored === undefined || stored.deleted || stored.body === null) return false;
    const plain = await sealer.open(stored.body, { type: stored.type, id: stored.id, version: stored.version });
    const resource = JSON.parse(decoder.decode(plain)) as Record<string, unknown>;
    if (
      await db.indexKeys.replaceIndex(search.resourceType, id, stored.version, buildIndex(search, tokenizer, resource))
    )
      return true;
  }
  throw new Error('the resource kept changing while it was re-indexed');
}

/** Step 3: every current resource, in (type, id) order from the saved progress. */
async function reindexAll(r: Rotation): Promise<number> {
  const { db } = r.deps;
  const saved = await db.indexKeys.progress(r.key.id);
  let done = saved?.done ?? 0;
  const start =
    saved === undefined
      ? 0
      : Math.max(
          0,
          r.resources.findIndex((s) => s.resourceType === saved.type),
        );
  for (let i = start; i < r.resources.length; i += 1) {
    const search = r.resources[i];
    if (search === undefined) continue;
    let after = saved !== undefined && i === start ? saved.after : '';
    for (;;) {
      const ids = await db.resources.search({ type: search.resourceType, clauses: [], after, limit: r.batch });
      if (ids.length === 0) break;
      for (const id of ids) if (await reindexOne(r, search, id)) done += 1;
      after = ids[ids.length - 1] ?? after;
      await db.indexKeys.saveProgress(r.key.id, { type: search.resourceType, after, done });
      r.report('reindexing', done);
      checkpoint(r.signal);
    }
  }
  return done;
}

/** Step 4: resources still holding a row under the old key, found by token-prefix range scans. */
async function sweep(r: Rotation, oldKeyId: string): Promise<number> {
  let count = 0;
  for (const search of r.resources) {
    for (const parameter of search.parameters) {
      let after = '';
      for (;;) {
        const ids = await r.deps.db.indexKeys.idsWithTokenPrefix(
          search.resourceType,
          parameter.name,
          tokenPrefixOf(oldKeyId),
          after,
          r.batch,
        );
        if (ids.length === 0) break;
        for (const id of ids) await reindexOne(r, search, id);
        count += ids.length;
        after = ids[ids.length - 1] ?? after;
      }
    }
  }
  return count;
}

function split(keys: readonly StoredIndexKey[]): {
  written: StoredIndexKey | undefined;
  incoming: StoredIndexKey | undefined;
  outgoing: StoredIndexKey | undefined;
} {
  const writtenAt = keys.findIndex((key) => key.state === 'written');
  const searchedAt = keys.findIndex((key) => key.state === 'searched');
  const searched = keys[searchedAt];
  return {
    written: keys[writtenAt],
    // list() is oldest first: a searched key newer than the written one is being rolled in, an older one out.
    incoming: searched !== undefined && searchedAt > writtenAt ? searched : undefined,
    outgoing: searched !== undefined && searchedAt < writtenAt ? searched : undefined,
  };
}

/**
 * Rotates the index key: creates a new one (or continues a crashed rotation),
 * re-indexes every current resource under it and retires the old key.
 * `caduceus keys rotate --index` calls this; `onProgress` drives its progress bar.
 */
export async function rotateIndexKey(
  deps: IndexRotationDependencies,
  options: IndexRotationOptions = {},
): Promise<IndexRotationResult> {
  const store = deps.db.indexKeys;
  const graceMs = options.graceMs ?? indexKeyRefreshMs + 5000;
  checkpoint(options.signal);
  let state = split(await store.list());
  const resumed = state.incoming !== undefined || state.outgoing !== undefined;
  if (state.written === undefined) {
    // No key yet (encryption was off): the first key, then a full re-index replaces any plain tokens.
    await store.insertFirstIfAbsent(await createIndexKey(deps.wrapper, deps.run));
  } else if (state.incoming === undefined && state.outgoing === undefined) {
    await store.insertIncomingIfAbsent(await createIndexKey(deps.wrapper, deps.run));
  }
  state = split(await store.list());
  const target = state.incoming ?? state.written;
  if (target === undefined) throw new Error('no index key to rotate to');
  let total = 0;
  for (const search of deps.resources ?? searchableResources) total += await store.countCurrent(search.resourceType);
  const report = (phase: IndexRotationProgressEvent['phase'], done: number): void => {
    options.onProgress?.({ phase, keyId: target.id, done, total });
  };
  if (state.incoming !== undefined) {
    report('introducing', 0);
    await pause(graceMs, options.signal);
    report('switching', 0);
    await store.switchWrites(state.incoming.id);
    state = split(await store.list());
  }
  // Every process makes rows with the new key before the pass begins.
  await pause(graceMs, options.signal);
  const r: Rotation = {
    deps,
    resources: deps.resources ?? searchableResources,
    batch: options.batchSize ?? 200,
    report,
    signal: options.signal,
    key: await unwrapIndexKey(target, deps.wrapper, deps.run),
  };
  const reindexed = await reindexAll(r);
  const outgoing = state.outgoing;
  if (outgoing === undefined) return { keyId: target.id, retiredKeyId: null, reindexed, resumed };
  report('sweeping', reindexed);
  await sweep(r, outgoing.id);
  await store.retire(outgoing.id);
  report('retired', reindexed);
  return { keyId: target.id, retiredKeyId: outgoing.id, reindexed, resumed };
}
