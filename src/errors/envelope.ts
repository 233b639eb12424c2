import { errorCatalogue, type ErrorCode } from './catalogue.js';

/** The seed's error envelope: exactly `{"error":{"code","message","requestId"}}`. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string };
}

/** Builds the envelope; the message defaults to the catalogue's safe text. */
export function errorEnvelope(code: ErrorCode, requestId: string, message?: string): ErrorEnvelope {
  return { error: { code, message: message ?? errorCatalogue[code].message, requestId } };
}
