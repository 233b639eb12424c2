export { createEnvelopeSealer, type EnvelopeSealer, type EnvelopeSealerOptions } from './envelope-sealer.js';
export { IntegrityError, type IntegrityFailure } from './errors.js';
export { integrityEventsPlugin } from './integrity-events.js';
export {
  KeyManagerStartError,
  openKeyProtection,
  openKeyWrapper,
  type KeyProtection,
  type KeyProtectionDependencies,
} from './open.js';
