/**
 * The password policy (NIST SP 800-63B §5.1.1.2; docs/users.md): at least
 * 12 characters, at most 128, and not on a list of commonly used passwords.
 * No composition rules: 800-63B advises against them.
 */
import { dictionary } from '@zxcvbn-ts/language-common';

/** Shortest accepted password, in characters (Unicode code points after NFKC). */
export const minPasswordLength = 12;
/** Longest accepted password: bounds the work a login can ask of the hasher. */
export const maxPasswordLength = 128;

/** Why a password was refused. */
export type PasswordPolicyViolation = 'too_short' | 'too_long' | 'common' | 'same_as_username';

/** Operator-facing text of each violation; never echoes the password. */
export const passwordPolicyMessages: Readonly<Record<PasswordPolicyViolation, string>> = {
  too_short: `the password must be at least ${minPasswordLength} characters`,
  too_long: `the password must be at most ${maxPasswordLength} characters`,
  common: 'the password is on the list of commonly used passwords',
  same_as_username: 'the password must not be the username',
};

/** Length in code points after NFKC, the form that is hashed. */
export function passwordLength(password: string): number {
  return codePoints(password.normalize('NFKC'));
}

/** NIST SP 800-63B §5.1.1.2 counts each Unicode code point as one character (a string iterates by code point). */
function codePoints(text: string): number {
  // Surrogate pairs are one code point in two UTF-16 units.
  return text.length - (text.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0);
}

/** The common-password list, lower-cased; only entries the length rule would let through matter. */
export interface CommonPasswords {
  has(lowerCased: string): boolean;
  readonly size: number;
}

/**
 * Loads the passwords dictionary of @zxcvbn-ts/language-common (about 30 000
 * leaked passwords, most common first). Built once by the caller and passed
 * down, not kept at module level.
 */
export function loadCommonPasswords(): CommonPasswords {
  const words = dictionary['passwords-common']
    .map((word) => word.toLowerCase())
    .filter((word) => codePoints(word) >= minPasswordLength);
  return new Set(words);
}

/** The first rule `password` breaks, or null when it is acceptable. Case-insensitive against the list and the username. */
export function checkPasswordPolicy(
  password: string,
  context: { readonly username: string; readonly common: CommonPasswords },
): PasswordPolicyViolation | null {
  const length = passwordLength(password);
  if (length < minPasswordLength) return 'too_short';
  if (length > maxPasswordLength) return 'too_long';
  const lower = password.normalize('NFKC').toLowerCase();
  if (context.common.has(lower)) return 'common';
  if (lower === context.username.toLowerCase()) return 'same_as_username';
  return null;
}
