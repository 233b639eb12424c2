/**
 * Shared pieces of the token tests: a real local keyring in a temp dir, a
 * real SQLite key-value store for revocation, a movable clock, and helpers
 * that sign arbitrary (also hostile) tokens.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { base64url } from 'jose';
import { localIssuerProfile, type IssuerProfile } from '../../src/auth/issuer-profile.js';
import { createRevocationStore, type RevocationStore } from '../../src/auth/revocation.js';
import type { TokenFailureReason } from '../../src/auth/token-error.js';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from '../../src/auth/verify-token.js';
import { isApiError } from '../../src/errors/index.js';
import { openLocalKeyManager, type LocalKeyManager } from '../../src/keys/local/index.js';
import type { KeyValueStore } from '../../src/storage/ports.js';
import { openTestDatabase } from '../helpers/database.js';

export const issuer = 'https://caduceus.test';
export const audience = 'https://caduceus.test/api/v1';
export const clockSkewSeconds = 30;

/** A fixed start instant (ms), far from any real clock so only the test clock counts. */
export const start = Date.UTC(2030, 0, 1, 12, 0, 0);

/** Everything a verifier test needs, cleaned up after the test. */
export interface TokenWorld {
  readonly keys: LocalKeyManager;
  readonly kv: KeyValueStore;
  readonly revocation: RevocationStore;
  readonly profile: IssuerProfile;
  readonly verifier: TokenVerifier;
  /** The verifier's clock, in ms; tests move it. */
  clock: number;
  /** A verifier over the same keys and store with other options. */
  verifierWith(options: Partial<TokenVerifierOptions>): TokenVerifier;
}

/** Opens a keyring, a migrated SQLite database and a verifier over both. */
export async function openTokenWorld(t: TestContext): Promise<TokenWorld> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-auth-'));
  const keys = await openLocalKeyManager({ path: path.join(dir, 'keyring.json') });
  const database = await openTestDatabase('sqlite');
  t.after(async () => {
    await keys.close();
    await database.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const world = {} as TokenWorld;
  const revocation = createRevocationStore(database.db.kv, { retentionMs: 2 * 3600 * 1000, now: () => world.clock });
  const profile = localIssuerProfile(issuer, keys);
  const base: TokenVerifierOptions = {
    profiles: [profile],
    audience,
    clockSkewSeconds,
    revocation,
    now: () => world.clock,
  };
  return Object.assign(world, {
    keys,
    kv: database.db.kv,
    revocation,
    profile,
    clock: start,
    verifier: createTokenVerifier(base),
    verifierWith: (options: Partial<TokenVerifierOptions>) => createTokenVerifier({ ...base, ...options }),
  });
}

/** The claims of a good token issued at `now` (ms), lasting five minutes. */
export function goodClaims(now: number = start): Record<string, unknown> {
  const iat = Math.floor(now / 1000);
  return {
    iss: issuer,
    aud: audience,
    sub: 'user-1',
    client_id: 'client-1',
    jti: `jti-${now}-${Math.random().toString(36).slice(2)}`,
    iat,
    exp: iat + 300,
    role: 'clinician',
    scope: 'user/Patient.rs openid',
  };
}

function encodeJson(value: unknown): string {
  return base64url.encode(JSON.stringify(value));
}

/** A compact JWS over any header and claims, signed by `sign` (raw bytes in, signature out). */
export async function craftToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  signer: (input: Uint8Array) => Uint8Array | Promise<Uint8Array>,
): Promise<string> {
  const input = `${encodeJson(header)}.${encodeJson(claims)}`;
  return `${input}.${base64url.encode(await signer(new TextEncoder().encode(input)))}`;
}

/** A signer backed by the keyring's current token-signing key. */
export function keyringSigner(keys: LocalKeyManager): (input: Uint8Array) => Promise<Uint8Array> {
  return async (input) => (await keys.sign('token-signing', input)).signature;
}

/** A P-256 key that is not in any keyring, and a signer with it. */
export function strangerSigner(): { publicKey: KeyObject; signer: (input: Uint8Array) => Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { publicKey, signer: (input) => sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
}

/** A token signed by the keyring with a correct header unless overridden. */
export async function signedToken(
  world: TokenWorld,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, alg } = await world.keys.currentKey('token-signing');
  return craftToken({ alg, kid, typ: 'at+jwt', ...header }, claims, keyringSigner(world.keys));
}

/** Asserts the promise rejects with AUTH_ERROR (or the given code) for `reason`, and never echoes the token. */
export async function assertRefused(
  promise: Promise<unknown>,
  reason: TokenFailureReason,
  token?: string,
  code = 'AUTH_ERROR',
): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (cause: unknown) => cause,
  );
  assert.ok(isApiError(error), `expected an ApiError for ${reason}, got ${String(error)}`);
  assert.equal(error.code, code);
  assert.equal((error as { reason?: unknown }).reason, reason);
  if (token !== undefined && token.length > 0) {
    const serialized = `${error.message} ${JSON.stringify(error)} ${JSON.stringify(error.headers)}`;
    for (const segment of token.split('.').filter((part) => part.length > 8))
      assert.ok(!serialized.includes(segment), 'the error never echoes the token');
  }
}
