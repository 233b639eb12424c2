import { CaduceusError } from './caduceus-error.js';
import { errorCatalogue, type ErrorCode } from './catalogue.js';

/**
 * An error the API answers on purpose. `message` is safe to send: it never
 * echoes input or PHI; a `field` names the offending element by path only.
 */
export class ApiError extends CaduceusError {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Only the catalogue's fixed sentence is vouched for outside an HTTP answer; a specific one may name a client's field. */
  readonly operatorSafe: boolean;

  constructor(code: ErrorCode, message?: string, headers: Record<string, string> = {}) {
    super(message ?? errorCatalogue[code].message);
    this.name = 'ApiError';
    this.code = code;
    this.operatorSafe = message === undefined || message === errorCatalogue[code].message;
    this.status = errorCatalogue[code].status;
    this.headers = headers;
  }
}

/** Narrowing guard for errors thrown across module boundaries. */
export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}
