/**
 * The user directory's contract (docs/users.md): the stored User record, the
 * UserStore port (SQLite and PostgreSQL adapters, one contract suite) and the
 * calls the authorization server and the login pages make. Types only: the
 * implementations live beside this file.
 */
import type { Role } from '../http/principal.js';

/**
 * Admin identities are separate from clinical ones: an `admin` account holds
 * the admin role and nothing else, a `clinical` account never holds it.
 */
export const userKinds = ['admin', 'clinical'] as const;
export type UserKind = (typeof userKinds)[number];

export const userStatuses = ['active', 'disabled'] as const;
export type UserStatus = (typeof userStatuses)[number];

/** One account, as stored. `username` is unique (stored normalised: NFKC, lower case). */
export interface User {
  /** Server-assigned, opaque, never reused; the OIDC `sub`. */
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly kind: UserKind;
  readonly status: UserStatus;
  /** PHC string: `$argon2id$...` or, in FIPS mode, `$pbkdf2-sha256$i=...`. Never leaves the server. */
  readonly passwordHash: string;
  /** The linked Patient id (`fhirUser` = `Patient/<id>`, SMART patient launch context), or null. */
  readonly patientId: string | null;
  /** ISO 8601 instants (`toISOString`). */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A user without its password hash: what leaves the directory for listings and the CLI. */
export type UserSummary = Omit<User, 'passwordHash'>;

/** Result of an insert: `duplicate` when the username (or id) is taken. */
export type UserCreateResult = 'created' | 'duplicate';

/** Persistence of users. Every write is a single atomic statement. */
export interface UserStore {
  create(user: User): Promise<UserCreateResult>;
  getById(id: string): Promise<User | undefined>;
  /** `username` must already be normalised (see normalizeUsername). */
  getByUsername(username: string): Promise<User | undefined>;
  /** Users in ascending username order, strictly after `after`. */
  list(options: { readonly after?: string; readonly limit: number }): Promise<User[]>;
  /** False when no such user. */
  setStatus(id: string, status: UserStatus, updatedAt: string): Promise<boolean>;
  /** False when no such user. */
  setPatient(id: string, patientId: string | null, updatedAt: string): Promise<boolean>;
  /**
   * Compare-and-set of the password hash (login-time re-hash): true only when
   * the stored hash still equals `expectedHash`, so two processes re-hashing
   * at once cannot overwrite a password changed in between.
   */
  replacePasswordHash(id: string, expectedHash: string, newHash: string, updatedAt: string): Promise<boolean>;
}

/** Why a password login failed; audited as the reason code (item 7). */
export type LoginFailureReason =
  /** Unknown user or wrong password: deliberately one reason (no user enumeration). */
  | 'invalid_credentials'
  /** Too many failures for this account (username); see retryAfterSeconds. */
  | 'locked'
  /** Too many failures from this source IP; see retryAfterSeconds. */
  | 'ip_locked'
  /** Right password, disabled account. Show the same page text as invalid_credentials. */
  | 'disabled'
  /** The password is over the policy's upper bound: refused before hashing. */
  | 'invalid_input';

/** Outcome of verifyPassword. */
export type PasswordVerification =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: LoginFailureReason; readonly retryAfterSeconds?: number };

/** What a login form submits. */
export interface PasswordAttempt {
  readonly username: string;
  readonly password: string;
  /** The client address as the edge resolved it (trusted proxies applied). */
  readonly sourceIp: string;
}

/** Claims for oidc-provider's findAccount → claims() (ID token, userinfo, access token). */
export interface AccountClaims {
  readonly sub: string;
  readonly preferred_username: string;
  readonly role: Role;
  readonly kind: UserKind;
  /** SMART App Launch `fhirUser`: `Patient/<id>` when a patient is linked. */
  readonly fhirUser?: string;
  /** The patient launch context, when a patient is linked. */
  readonly patient?: string;
}

/**
 * The directory the login pages and the authorization server use.
 * verifyPassword throws PasswordHashingBusyError (src/auth/users/hashing-queue.ts)
 * when the hashing queue is full: answer 503 SERVICE_UNAVAILABLE with
 * Retry-After = error.retryAfterSeconds.
 */
export interface UserDirectory {
  /** Password check with per-account and per-IP lockout; a success resets the account's counter and may re-hash. */
  verifyPassword(attempt: PasswordAttempt): Promise<PasswordVerification>;
  /**
   * Seconds to wait when a password check arriving now would be shed by the
   * hashing queue (full, or its CPU budget spent), else undefined: the login
   * page answers 503 before any other work. Advisory (a check admitted here
   * may still be shed), and the same for every username (no enumeration).
   */
  passwordCheckBusy(): number | undefined;
  /** Active user by id, or undefined (unknown or disabled). */
  findActiveUser(id: string): Promise<User | undefined>;
  /** oidc-provider findAccount: claims of an active user, or undefined (unknown or disabled). */
  findAccountClaims(id: string): Promise<AccountClaims | undefined>;
}
