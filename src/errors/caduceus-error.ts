import type { ErrorCode } from './catalogue.js';

/**
 * Codes of the errors the process raises for itself: start-up, the CLI,
 * adapters. Not API answers (those are the catalogue's codes). docs/errors.md
 * "Operator-facing errors" lists the same codes and
 * test/errors/catalogue.test.ts keeps the two in step.
 */
export const processErrorCodes = [
  'AUDIT_WRITE_FAILED',
  'CLIENT_REGISTRATION_REFUSED',
  'COMMAND_FAILED',
  'CONFIG_INVALID',
  'FIPS_REFUSED',
  'HASH_THREAD_FAILED',
  'HSM_FAILED',
  'INDEX_TOO_LARGE',
  'INTEGRITY_FAILED',
  'INTERACTION_NOT_FOUND',
  'ISSUERS_FILE_INVALID',
  'JWKS_INVALID',
  'KEY_MANAGER_START_FAILED',
  'KEYRING_UNUSABLE',
  'LISTEN_FAILED',
  'MASTER_KEY_UNUSABLE',
  'MONITORING_RULE_INVALID',
  'OUTBOUND_FETCH_FAILED',
  'OUTBOUND_TARGET_REFUSED',
  'RATE_LIMIT_SETTING_INVALID',
  'ROTATION_BUSY',
  'ROTATION_INTERRUPTED',
  'SIGNING_KEY_ROTATED',
  'STARTUP_STEP_FAILED',
  'STORAGE_FAILED',
  'TLS_CERTIFICATE_REFUSED',
  'TLS_SETUP_FAILED',
  'USER_ADMIN_REFUSED',
  'WEBHOOK_DELIVERY_FAILED',
  'WEBHOOK_TARGET_REFUSED',
] as const;

/** A code of an error the process raises for itself. */
export type ProcessErrorCode = (typeof processErrorCodes)[number];

/** Every code a CaduceusError may carry: the API catalogue's and the process's own. */
export type CaduceusErrorCode = ErrorCode | ProcessErrorCode;

/** What a CaduceusError carries besides its message. */
export interface CaduceusErrorOptions {
  /** The lower-level error, kept for a debugger; never printed to an operator. */
  readonly cause?: unknown;
  /** The configuration setting that fixes this, e.g. `CADUCEUS_PORT`. */
  readonly setting?: string;
}

/**
 * The one base of every error class of Caduceus (STYLE.md #4). `code` is
 * stable and narrows; `operatorSafe` says the message holds no secret, PHI,
 * SQL or request data, so the CLI and the start-up path may print it. Code
 * that does not know an error prints its code only (src/cli/failure-line.ts).
 */
export abstract class CaduceusError extends Error {
  abstract readonly code: CaduceusErrorCode;
  abstract readonly operatorSafe: boolean;
  readonly setting: string | undefined;

  constructor(message: string, options: CaduceusErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.setting = options.setting;
  }
}

/** Narrowing guard for errors thrown across module boundaries. */
export function isCaduceusError(value: unknown): value is CaduceusError {
  return value instanceof CaduceusError;
}
