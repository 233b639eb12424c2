import { setTimeout as delay } from 'node:timers/promises';
import { ApiError } from '../../errors/index.js';
import type { Sealer } from '../../keys/ports.js';
import { randomResourceId } from '../../lib/random.js';
import type { IndexEntry, ResourceStore, StoredVersion } from '../../storage/ports.js';
import type { FhirResource, HistoryEntry, ResourceDefinition, VersionedResource } from './types.js';

/** How often a write re-reads, re-seals and retries after losing a race. */
const maxWriteAttempts = 8;

export interface EngineOptions {
  readonly store: ResourceStore;
  readonly sealer: Sealer;
  readonly now?: () => Date;
}

/** Options of a conditional write: If-Match as a version number (FHIR http.html#concurrency). */
export interface WriteOptions {
  readonly ifMatch?: number;
}

/** A page of search results in id order. */
export interface SearchPage {
  readonly entries: readonly VersionedResource[];
  readonly next: string | undefined;
}

/** The resource engine: versioned, sealed, indexed storage, generic over resource types. */
export interface ResourceEngine {
  create(definition: ResourceDefinition, body: unknown): Promise<VersionedResource>;
  read(definition: ResourceDefinition, id: string): Promise<VersionedResource>;
  vread(definition: ResourceDefinition, id: string, version: number): Promise<VersionedResource>;
  update(definition: ResourceDefinition, id: string, body: unknown, options?: WriteOptions): Promise<VersionedResource>;
  /** Writes a tombstone; deleting a deleted resource is a no-op (idempotent, FHIR http.html#delete). */
  delete(definition: ResourceDefinition, id: string, options?: WriteOptions): Promise<void>;
  history(
    definition: ResourceDefinition,
    id: string,
    page: { before?: number; limit: number },
  ): Promise<HistoryEntry[]>;
  /**
   * One page of matches; `next` is the cursor of the following page, if there may be one.
   * `compartment` (a Patient id) restricts the matches in the query itself, so
   * pages, cursors and counts never reflect resources outside it.
   */
  search(
    definition: ResourceDefinition,
    query: Readonly<Record<string, string | string[]>>,
    page: { after?: string; limit: number; compartment?: string | readonly string[] },
  ): Promise<SearchPage>;
}

/**
 * The index parameter holding a resource's patient compartment. Clients
 * cannot name it: parseSearch refuses unknown parameters. Its token is the
 * server-assigned Patient id, not PHI, so it is stored as is even when the
 * other tokens are blind indexes.
 */
const compartmentParam = '_compartment';

function indexOf(definition: ResourceDefinition, resource: FhirResource): IndexEntry[] {
  const patient = definition.patientOf(resource);
  const entries = definition.index(resource);
  return patient === null ? entries : [...entries, { param: compartmentParam, token: patient }];
}

function validationError(field: string, message: string): ApiError {
  return new ApiError('VALIDATION_ERROR', `${field}: ${message}`);
}

/**
 * Runs writes to one key one after another in this process: concurrent
 * writes to one resource would otherwise only lose races to each other and
 * re-seal in vain. Writers in other processes (PostgreSQL) still race; the
 * retry loop covers them. Hand-written: eight lines, where a keyed-mutex
 * package would add a dependency for the same promise chain.
 */
function createKeyedQueue(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}

/** Creates the engine; all state lives in the store. */
export function createResourceEngine(options: EngineOptions): ResourceEngine {
  const { store, sealer } = options;
  const now = options.now ?? (() => new Date());
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const serialized = createKeyedQueue();

  async function open(stored: StoredVersion): Promise<FhirResource> {
    if (stored.body === null) throw new ApiError('GONE');
    const plain = await sealer.open(stored.body, { type: stored.type, id: stored.id, version: stored.version });
    return JSON.parse(decoder.decode(plain)) as FhirResource;
  }

  /**
   * Seals outside any transaction, then commits only if the version is still
   * the one read; on a lost race, re-reads, re-seals and retries (DESIGN.md:
   * a slow key manager never runs inside a database transaction). Writes to
   * one resource queue within this process.
   */
  function write(
    definition: ResourceDefinition,
    id: string,
    ifMatch: number | undefined,
    next: (current: StoredVersion | undefined) => FhirResource | null | 'unchanged',
  ): Promise<VersionedResource | null> {
    return serialized(`${definition.type}/${id}`, async () => {
      for (let attempt = 0; attempt < maxWriteAttempts; attempt += 1) {
        // Another process won the last race: wait a little, randomly, so the racers spread out.
        if (attempt > 0) await delay(Math.random() * 2 ** attempt * 5);
        const current = await store.readCurrent(definition.type, id);
        const currentVersion = current?.version ?? 0;
        if (ifMatch !== undefined && ifMatch !== currentVersion) throw new ApiError('PRECONDITION_FAILED');
        const draft = next(current);
        if (draft === 'unchanged') return null;
        const version = currentVersion + 1;
        const lastUpdated = now().toISOString();
        const resource = draft === null ? null : withServerMeta(draft, id, version, lastUpdated);
        const body =
          resource === null
            ? null
            : await sealer.seal(encoder.encode(JSON.stringify(resource)), { type: definition.type, id, version });
        const result = await store.commit({
          type: definition.type,
          id,
          expectedVersion: currentVersion,
          version,
          lastUpdated,
          deleted: resource === null,
          body,
          index: resource === null ? [] : indexOf(definition, resource),
        });
        if (result === 'committed') return resource === null ? null : { resource, version, lastUpdated };
        if (ifMatch !== undefined) throw new ApiError('PRECONDITION_FAILED');
      }
      throw new ApiError('CONFLICT', 'The resource was changed concurrently; retry the request');
    });
  }

  function validated(
    definition: ResourceDefinition,
    body: unknown,
    mode: Parameters<ResourceDefinition['validate']>[1],
  ): FhirResource {
    const result = definition.validate(body, mode);
    if (!result.ok) throw validationError(result.field, result.message);
    return result.resource;
  }

  async function readExisting(definition: ResourceDefinition, id: string): Promise<StoredVersion> {
    const current = await store.readCurrent(definition.type, id);
    if (current === undefined) throw new ApiError('NOT_FOUND');
    if (current.deleted) throw new ApiError('GONE');
    return current;
  }

  return {
    async create(definition, body) {
      const resource = validated(definition, body, { mode: 'create' });
      const created = await write(definition, randomResourceId(), undefined, (current) => {
        // A random 122-bit id never collides in practice; refuse rather than overwrite if it does.
        if (current !== undefined) throw new ApiError('CONFLICT');
        return resource;
      });
      if (created === null) throw new ApiError('INTERNAL_ERROR');
      return created;
    },

    async read(definition, id) {
      const current = await readExisting(definition, id);
      return { resource: await open(current), version: current.version, lastUpdated: current.lastUpdated };
    },

    async vread(definition, id, version) {
      const stored = await store.readVersion(definition.type, id, version);
      if (stored === undefined) throw new ApiError('NOT_FOUND');
      return { resource: await open(stored), version: stored.version, lastUpdated: stored.lastUpdated };
    },

    async update(definition, id, body, writeOptions = {}) {
      const resource = validated(definition, body, { mode: 'update', id });
      const updated = await write(definition, id, writeOptions.ifMatch, (current) => {
        // Ids are server-assigned: PUT never creates (FHIR update-as-create is not offered).
        if (current === undefined) throw new ApiError('NOT_FOUND');
        if (current.deleted) throw new ApiError('GONE');
        return resource;
      });
      if (updated === null) throw new ApiError('INTERNAL_ERROR');
      return updated;
    },

    async delete(definition, id, writeOptions = {}) {
      await write(definition, id, writeOptions.ifMatch, (current) => {
        if (current === undefined) throw new ApiError('NOT_FOUND');
        return current.deleted ? 'unchanged' : null;
      });
    },

    async history(definition, id, page) {
      await readExistingOrDeleted(store, definition, id);
      const versions = await store.history(definition.type, id, page);
      return Promise.all(
        versions.map(async (stored) => ({
          id: stored.id,
          version: stored.version,
          lastUpdated: stored.lastUpdated,
          deleted: stored.deleted,
          resource: stored.deleted ? null : await open(stored),
        })),
      );
    },

    async search(definition, query, page) {
      const parsed = definition.parseSearch(query);
      if ('error' in parsed) throw validationError(parsed.error.field, parsed.error.message);
      // Several compartments (a care team's patients) are one OR clause.
      const compartments = typeof page.compartment === 'string' ? [page.compartment] : page.compartment;
      const clauses =
        compartments === undefined
          ? parsed.clauses
          : [...parsed.clauses, { param: compartmentParam, tokens: compartments }];
      // One more than the page: a `next` cursor only when another match exists, never an empty last page.
      const matched = await store.search({
        type: definition.type,
        clauses,
        limit: page.limit + 1,
        ...(page.after !== undefined && { after: page.after }),
      });
      const ids = matched.slice(0, page.limit);
      const found = await Promise.all(ids.map((id) => store.readCurrent(definition.type, id)));
      const live = found.filter((stored): stored is StoredVersion => stored !== undefined && !stored.deleted);
      const entries = await Promise.all(
        live.map(async (stored) => ({
          resource: await open(stored),
          version: stored.version,
          lastUpdated: stored.lastUpdated,
        })),
      );
      return { entries, next: matched.length > page.limit ? ids.at(-1) : undefined };
    },
  };
}

async function readExistingOrDeleted(store: ResourceStore, definition: ResourceDefinition, id: string): Promise<void> {
  if ((await store.readCurrent(definition.type, id)) === undefined) throw new ApiError('NOT_FOUND');
}

/** The server owns id, meta.versionId and meta.lastUpdated; the rest of meta is the client's. */
function withServerMeta(resource: FhirResource, id: string, version: number, lastUpdated: string): FhirResource {
  return { ...resource, id, meta: { ...resource.meta, versionId: String(version), lastUpdated } };
}
