import type { DataKeyStore, IndexKeyStore, KeyValueStore, SealedBodyStore } from '../storage/ports.js';
import type { KeyPurpose, KeyWrapper, RotatingKeyManager } from '../keys/ports.js';
import { countSealedBodies } from './data-rotation.js';
import { loadRotationJob, type RotationJobState } from './job-state.js';

/** One key-encryption key: `missing` when data keys name a KEK the key manager no longer has. */
export interface KekStatus {
  readonly id: string;
  readonly state: 'current' | 'retired' | 'missing';
  /** Data keys (and index keys) it wraps. */
  readonly dataKeys: number;
  readonly indexKeys: number;
  /** Resource versions whose data key it wraps. */
  readonly records: number;
}

/** One data key and the resource versions (current and historical) it still seals. */
export interface DataKeyStatus {
  readonly id: string;
  readonly kekId: string;
  readonly state: 'current' | 'retired';
  readonly createdAt: string;
  readonly records: number;
}

/** One blind-index key. */
export interface IndexKeyStatus {
  readonly id: string;
  readonly kekId: string;
  readonly state: string;
  readonly createdAt: string;
}

/** What `caduceus keys status` reports: ids, states and counts, never key material. */
export interface KeyStatus {
  readonly keks: readonly KekStatus[];
  readonly dataKeys: readonly DataKeyStatus[];
  readonly indexKeys: readonly IndexKeyStatus[];
  /** Every stored version with a body, and those stored unsealed (written with CADUCEUS_ENCRYPTION=off). */
  readonly records: { readonly total: number; readonly unsealed: number };
  readonly signing: Readonly<
    Record<
      KeyPurpose,
      readonly { readonly kid: string; readonly alg: string; readonly state: 'current' | 'previous' }[]
    >
  >;
  /** The unfinished rotation job, if one is waiting to be resumed or running. */
  readonly job: Pick<
    RotationJobState,
    'kind' | 'jobId' | 'startedAt' | 'targetKeyId' | 'pass' | 'total' | 'moved'
  > | null;
}

/** What {@link keyStatus} reads. */
export interface KeyStatusSources {
  readonly kv: KeyValueStore;
  readonly dataKeys: DataKeyStore;
  readonly sealedBodies: SealedBodyStore;
  readonly indexKeys?: IndexKeyStore;
  /** Null with CADUCEUS_ENCRYPTION=off: KEKs are then listed only as the data keys name them. */
  readonly wrapper: KeyWrapper | null;
  readonly signing: RotatingKeyManager;
}

async function signingStatus(keys: RotatingKeyManager, purpose: KeyPurpose): Promise<KeyStatus['signing'][KeyPurpose]> {
  return (await keys.publicKeys(purpose)).map((key, index) => ({
    kid: key.kid,
    alg: key.alg,
    state: index === 0 ? 'current' : 'previous',
  }));
}

function kekStatuses(
  kekIds: readonly string[],
  dataKeys: readonly DataKeyStatus[],
  indexKeys: readonly IndexKeyStatus[],
): KekStatus[] {
  const named = [...dataKeys.map((key) => key.kekId), ...indexKeys.map((key) => key.kekId)];
  const ids = [...kekIds, ...new Set(named.filter((id) => !kekIds.includes(id)))];
  return ids.map((id, index) => {
    const wrapped = dataKeys.filter((key) => key.kekId === id);
    return {
      id,
      state: !kekIds.includes(id) ? 'missing' : index === 0 ? 'current' : 'retired',
      dataKeys: wrapped.length,
      indexKeys: indexKeys.filter((key) => key.kekId === id).length,
      records: wrapped.reduce((sum, key) => sum + key.records, 0),
    };
  });
}

/** Every KEK, data key and index key with its state and what it still protects; the signing keys; the unfinished job. */
export async function keyStatus(sources: KeyStatusSources): Promise<KeyStatus> {
  const { total, byKey } = await countSealedBodies(sources);
  const dataKeys: DataKeyStatus[] = (await sources.dataKeys.list()).map((key) => ({
    id: key.id,
    kekId: key.kekId,
    state: key.state,
    createdAt: key.createdAt,
    records: byKey.get(key.id) ?? 0,
  }));
  const indexKeys: IndexKeyStatus[] =
    sources.indexKeys === undefined
      ? []
      : (await sources.indexKeys.list()).map((key) => ({
          id: key.id,
          kekId: key.kekId,
          state: key.state,
          createdAt: key.createdAt,
        }));
  const kekIds = sources.wrapper === null ? [] : await sources.wrapper.kekIds();
  const job = await loadRotationJob(sources.kv);
  const sealed = [...byKey.values()].reduce((sum, n) => sum + n, 0);
  return {
    keks: kekStatuses(kekIds, dataKeys, indexKeys),
    dataKeys,
    indexKeys,
    records: { total, unsealed: total - sealed },
    signing: {
      'token-signing': await signingStatus(sources.signing, 'token-signing'),
      'audit-signing': await signingStatus(sources.signing, 'audit-signing'),
    },
    job:
      job === undefined
        ? null
        : {
            kind: job.kind,
            jobId: job.jobId,
            startedAt: job.startedAt,
            targetKeyId: job.targetKeyId,
            pass: job.pass,
            total: job.total,
            moved: job.moved,
          },
  };
}
