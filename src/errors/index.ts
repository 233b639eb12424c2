export { errorCatalogue, errorCodes, type ErrorCode } from './catalogue.js';
export {
  CaduceusError,
  isCaduceusError,
  processErrorCodes,
  type CaduceusErrorCode,
  type CaduceusErrorOptions,
  type ProcessErrorCode,
} from './caduceus-error.js';
export { ApiError, isApiError } from './api-error.js';
export { errorEnvelope, type ErrorEnvelope } from './envelope.js';
