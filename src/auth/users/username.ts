/**
 * Usernames are compared in one normal form (NFKC, lower case) so that
 * `Alice`, `alice` and a full-width `ａｌｉｃｅ` are one account, never three
 * (RFC 8265 §3.3 in spirit: map width and case before comparing).
 */

const usernamePattern = /^[a-z0-9][a-z0-9._@-]{2,63}$/;

/** The stored, compared form of a typed username. */
export function normalizeUsername(typed: string): string {
  return typed.normalize('NFKC').trim().toLowerCase();
}

/** True for a normalised username of 3–64 characters: letters, digits, `.`, `_`, `@`, `-`, starting with a letter or digit. */
export function isValidUsername(normalized: string): boolean {
  return usernamePattern.test(normalized);
}
