/**
 * Signed checkpoints of an audit chain (DESIGN.md invariants: "a hash chain
 * per writer + signed checkpoints"). A checkpoint row is chained like any
 * row and its payload signs the (seq, hash) of the row right before it, so
 * rewriting history behind a checkpoint needs the audit-signing key.
 *
 * Signed bytes: UTF-8 of canonicalJson(payload without `signature`); the
 * signature is the key manager's JWS-format signature (RFC 7518 §3: raw
 * r||s for ES256), base64url without padding.
 */
import { verifyJwsSignature } from '../keys/jws-signature.js';
import type { KeyManager, PublicKeyInfo, SigningAlgorithm } from '../keys/ports.js';
import { canonicalJson } from './canonical.js';

/** 'open' starts a writer's chain (seq 1), 'checkpoint' is periodic, 'close' ends it. */
export type CheckpointType = 'open' | 'checkpoint' | 'close';

/** What a checkpoint states, before it is signed. */
export interface CheckpointClaims {
  readonly type: CheckpointType;
  readonly writerId: string;
  /** Seq of the row right before the checkpoint (0 for 'open'). */
  readonly seq: number;
  /** Hash of that row ('' for 'open'). */
  readonly hash: string;
  /** ISO 8601 instant; equals the row's time. */
  readonly time: string;
}

/** The payload of a checkpoint row. */
export interface CheckpointPayload extends CheckpointClaims {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** base64url signature over the canonical JSON of every other field. */
  readonly signature: string;
}

const ALGORITHMS: readonly string[] = ['ES256', 'PS256', 'RS256'] satisfies SigningAlgorithm[];
const TYPES: readonly string[] = ['open', 'checkpoint', 'close'] satisfies CheckpointType[];

/** Signs checkpoint claims with the current audit-signing key. */
export async function signCheckpoint(keys: KeyManager, claims: CheckpointClaims): Promise<CheckpointPayload> {
  let { kid, alg } = await keys.currentKey('audit-signing');
  // kid and alg are inside the signed bytes; if the key rotates between
  // currentKey and sign, sign again naming the key that actually signed.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const unsigned = { ...claims, kid, alg };
    const signed = await keys.sign('audit-signing', signingInput(unsigned));
    if (signed.kid === kid && signed.alg === alg) {
      return { ...unsigned, signature: Buffer.from(signed.signature).toString('base64url') };
    }
    ({ kid, alg } = signed);
  }
  throw new Error('audit-signing key changed while signing a checkpoint');
}

function signingInput(unsigned: object): Uint8Array {
  return Buffer.from(canonicalJson(unsigned), 'utf8');
}

/** Narrows a parsed payload to a checkpoint's shape, or returns why it is not one. */
export function parseCheckpoint(value: unknown): CheckpointPayload | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'checkpoint payload is not an object';
  const v = value as Record<string, unknown>;
  const known = ['type', 'writerId', 'seq', 'hash', 'time', 'kid', 'alg', 'signature'];
  if (Object.keys(v).some((key) => !known.includes(key))) return 'checkpoint payload has unknown fields';
  if (typeof v.type !== 'string' || !TYPES.includes(v.type)) return 'checkpoint type is invalid';
  if (typeof v.alg !== 'string' || !ALGORITHMS.includes(v.alg)) return 'checkpoint alg is invalid';
  if (!Number.isSafeInteger(v.seq)) return 'checkpoint seq is invalid';
  for (const field of ['writerId', 'hash', 'time', 'kid', 'signature']) {
    if (typeof v[field] !== 'string') return `checkpoint ${field} is invalid`;
  }
  return v as unknown as CheckpointPayload;
}

/**
 * Checks the signature with the public key named by kid; returns why it
 * fails, or undefined. The key's own alg must equal the claimed alg, so a
 * payload cannot pick a weaker verification than the key was made for.
 */
export function checkCheckpointSignature(
  payload: CheckpointPayload,
  publicKeys: readonly PublicKeyInfo[],
): string | undefined {
  const key = publicKeys.find((candidate) => candidate.kid === payload.kid);
  if (key === undefined) return `checkpoint signed by unknown key ${payload.kid}`;
  if (key.alg !== payload.alg) return 'checkpoint alg does not match its key';
  const signature = Buffer.from(payload.signature, 'base64url');
  // Reject non-canonical base64url so a signature has exactly one spelling.
  if (signature.toString('base64url') !== payload.signature) return 'checkpoint signature is not base64url';
  const { type, writerId, seq, hash, time, kid, alg } = payload;
  const data = signingInput({ type, writerId, seq, hash, time, kid, alg });
  return verifyJwsSignature(key, data, signature) ? undefined : 'checkpoint signature is invalid';
}
