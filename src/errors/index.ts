export { errorCatalogue, errorCodes, type ErrorCode } from './catalogue.js';
export { ApiError, isApiError } from './api-error.js';
export { errorEnvelope, type ErrorEnvelope } from './envelope.js';
