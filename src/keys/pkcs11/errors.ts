/**
 * Errors of the PKCS#11 adapter. Messages name the setting to check and the
 * Cryptoki return value (CKR_*), never a PIN, a key or data.
 */

import { CaduceusError } from '../../errors/index.js';

/** Why an HSM operation failed; lets callers tell an unavailable HSM from bad input. */
export type HsmErrorKind =
  /** Module, token or PIN problem found while opening: the server should not start. */
  | 'configuration'
  /** The token or its session failed, or a call took longer than its bound: retry later. */
  | 'unavailable'
  /** A wrapped key did not open (altered bytes, wrong or unknown KEK): not the HSM's fault. */
  | 'integrity'
  /** The handle was closed. */
  | 'closed';

/** An HSM failure with a safe message and, when the token answered, its CKR_* name. */
export class HsmError extends CaduceusError {
  override readonly name = 'HsmError';
  readonly code = 'HSM_FAILED';
  readonly operatorSafe = true;
  readonly kind: HsmErrorKind;
  /** The Cryptoki return value's name (e.g. CKR_PIN_INCORRECT), when there was one. */
  readonly ckr: string | undefined;

  constructor(kind: HsmErrorKind, message: string, ckr?: string) {
    super(ckr === undefined ? message : `${message} (${ckr})`);
    this.kind = kind;
    this.ckr = ckr;
  }
}

/**
 * The CKR_* name of a pkcs11js error, or undefined. pkcs11js puts the name
 * first in its message ("CKR_PIN_INCORRECT:160"); only that token is kept,
 * so nothing else from the native message can reach a log.
 */
export function ckrName(error: unknown): string | undefined {
  if (error instanceof HsmError) return error.ckr;
  if (!(error instanceof Error)) return undefined;
  const match = /^(CKR_[A-Z0-9_]+)/.exec(error.message);
  return match?.[1];
}

/** PKCS#11 return values after which the session is gone and a new one (and a login) may succeed. */
const sessionLost = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_ERROR',
]);

/** True when the error means "open a new session and try again". */
export function isSessionLost(error: unknown): boolean {
  const name = ckrName(error);
  return name !== undefined && sessionLost.has(name);
}

/** True when an object handle went stale (e.g. the token was re-inserted) and must be looked up again. */
export function isStaleHandle(error: unknown): boolean {
  const name = ckrName(error);
  return name === 'CKR_KEY_HANDLE_INVALID' || name === 'CKR_OBJECT_HANDLE_INVALID';
}
