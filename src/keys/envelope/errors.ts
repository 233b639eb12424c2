import { CaduceusError } from '../../errors/index.js';
import type { SealContext } from '../ports.js';

/** Why a sealed record did not open; recorded in security events (never content). */
export type IntegrityFailure = 'format' | 'unknown-data-key' | 'authentication';

/**
 * A sealed body failed to open: truncated, altered, or copied from another
 * record (the AAD binds type, id and version). The API answers 500 without
 * detail; src/keys/envelope/integrity-events.ts raises `integrity.error`.
 * Carries the record's type, id and version, never its bytes.
 */
export class IntegrityError extends CaduceusError {
  override readonly name = 'IntegrityError';
  readonly code = 'INTEGRITY_FAILED';
  readonly operatorSafe = true;
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly failure: IntegrityFailure;

  constructor(context: SealContext, failure: IntegrityFailure) {
    super('A sealed record failed its integrity check');
    this.type = context.type;
    this.id = context.id;
    this.version = context.version;
    this.failure = failure;
  }
}
