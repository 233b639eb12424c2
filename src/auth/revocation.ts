/**
 * Access-token revocation over the key-value store: by token (jti), by grant,
 * and by subject as of an instant. The verifier asks on every request, cached
 * token or not, in one round trip (RFC 7009 §2: a revoked token is refused
 * from then on).
 */
import type { KeyValueStore } from '../storage/ports.js';

/** The parts of a principal revocation is decided on. */
export interface RevocationSubject {
  readonly tokenId: string;
  readonly grantId: string | null;
  readonly subject: string;
  /** The token's `iat`, seconds since the epoch. */
  readonly issuedAt: number;
}

/** What the token verifier needs: one question, one round trip. */
export interface RevocationChecker {
  isRevoked(principal: RevocationSubject): Promise<boolean>;
}

/** Revocation writes (the CLI, the token endpoint, logout) and the verifier's check. */
export interface RevocationStore extends RevocationChecker {
  /** Revokes one token until its expiry (seconds since the epoch) plus the retention margin. */
  revokeToken(tokenId: string, expiresAt: number): Promise<void>;
  /** Revokes every token of a grant, for the retention period. */
  revokeGrant(grantId: string): Promise<void>;
  /** Revokes every token of the subject issued at or before now; later tokens are unaffected. */
  revokeSubject(subject: string): Promise<void>;
}

/** Options of the revocation store. */
export interface RevocationOptions {
  /**
   * How long a grant or subject revocation is kept, and the margin kept after
   * a revoked token's expiry: at least the longest token lifetime plus the
   * clock skew, or a revoked token could outlive its revocation.
   */
  readonly retentionMs: number;
  /** Milliseconds since the epoch; Date.now by default. */
  readonly now?: () => number;
}

/** Key of a revoked token id. */
export function revokedTokenKey(tokenId: string): string {
  return `revoked:jti:${tokenId}`;
}

/** Key of a revoked grant. */
export function revokedGrantKey(grantId: string): string {
  return `revoked:grant:${grantId}`;
}

/** Key of a subject's revocation instant. */
export function revokedSubjectKey(subject: string): string {
  return `revoked:sub:${subject}`;
}

function requireId(value: string, what: string): void {
  if (value === '') throw new RangeError(`${what} must not be empty`);
}

/** Creates the revocation store over a key-value store. */
export function createRevocationStore(kv: KeyValueStore, options: RevocationOptions): RevocationStore {
  const { retentionMs } = options;
  if (!Number.isInteger(retentionMs) || retentionMs <= 0)
    throw new RangeError('retentionMs must be a positive integer');
  const now = options.now ?? Date.now;
  return {
    async revokeToken(tokenId, expiresAt) {
      requireId(tokenId, 'tokenId');
      await kv.set(revokedTokenKey(tokenId), '1', Math.max(0, expiresAt * 1000 - now()) + retentionMs);
    },
    async revokeGrant(grantId) {
      requireId(grantId, 'grantId');
      await kv.set(revokedGrantKey(grantId), '1', retentionMs);
    },
    async revokeSubject(subject) {
      requireId(subject, 'subject');
      // iat has whole-second precision, so the revocation covers the whole current second:
      // a token issued later in that same second is refused too (fails closed).
      await kv.set(revokedSubjectKey(subject), String(Math.floor(now() / 1000)), retentionMs);
    },
    async isRevoked(principal) {
      const tokenKey = revokedTokenKey(principal.tokenId);
      const subjectKey = revokedSubjectKey(principal.subject);
      const grantKey = principal.grantId === null ? undefined : revokedGrantKey(principal.grantId);
      const found = await kv.getMany(
        grantKey === undefined ? [tokenKey, subjectKey] : [tokenKey, subjectKey, grantKey],
      );
      if (found.has(tokenKey) || (grantKey !== undefined && found.has(grantKey))) return true;
      const subjectRevokedAt = found.get(subjectKey);
      if (subjectRevokedAt === undefined) return false;
      const revokedAt = Number(subjectRevokedAt);
      // An unreadable entry fails closed.
      return !Number.isFinite(revokedAt) || principal.issuedAt <= revokedAt;
    },
  };
}
