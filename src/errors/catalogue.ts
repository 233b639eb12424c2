/**
 * The one catalogue of API error codes (STYLE.md #4). Every error response of
 * the API carries one of these codes; docs/errors.md lists the same codes and
 * test/errors/catalogue.test.ts keeps the two in step.
 */
export const errorCatalogue = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  VALIDATION_ERROR: { status: 400, message: 'The request failed validation' },
  AUTH_ERROR: { status: 401, message: 'Invalid authentication credentials' },
  MFA_REQUIRED: { status: 401, message: 'This operation requires multi-factor authentication' },
  FORBIDDEN: { status: 403, message: 'Access to this resource is not permitted' },
  NOT_FOUND: { status: 404, message: 'The requested resource was not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'The method is not allowed for this resource' },
  NOT_ACCEPTABLE: { status: 406, message: 'The requested representation is not available' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive' },
  CONFLICT: { status: 409, message: 'The request conflicts with the current state of the resource' },
  GONE: { status: 410, message: 'The resource has been deleted' },
  PRECONDITION_FAILED: { status: 412, message: 'The resource version does not match If-Match' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not supported' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, message: 'An unexpected error occurred' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code from the catalogue. */
export type ErrorCode = keyof typeof errorCatalogue;

/** Every code, in catalogue order. */
export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];
