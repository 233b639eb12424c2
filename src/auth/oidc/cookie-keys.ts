/**
 * The keys oidc-provider signs its session and interaction cookies with.
 * Every process of a deployment must use the same ones (a browser's next
 * request may reach another process): either the operator's own keys
 * (CADUCEUS_OIDC_COOKIE_KEYS_FILE, newest first, so a new key can be added
 * before the old one is dropped), or one derived from the master key, which
 * every process sharing the database already holds (docs/key-management.md
 * "Secrets processes share").
 */

/** Derives a secret for one purpose from the master key (MasterKey.derive). */
export type DeriveSecret = (purpose: string, length: number) => Buffer;

/** The cookie-signing keys: the configured ones, else one derived from the master key. */
export function cookieKeysOf(configured: readonly string[] | null, derive: DeriveSecret): string[] {
  if (configured !== null && configured.length > 0) return [...configured];
  return [derive('oidc-cookie-key', 32).toString('base64url')];
}
