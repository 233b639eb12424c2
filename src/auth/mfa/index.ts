/** Second factors: TOTP (RFC 6238), passkeys (WebAuthn) and recovery codes (docs/login-and-mfa.md). */
export { createTotpFactors, type FactorSummary, type TotpFactors } from './factors.js';
export { factorSealContext } from './factor-seal.js';
export {
  factorKinds,
  type FactorKind,
  type FactorReset,
  type MfaFactorStore,
  type StoredFactor,
} from '../../storage/mfa-ports.js';
export { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode, recoveryCodeCount } from './recovery-codes.js';
export { checkTotp, generateTotpSecret, totpUri, type TotpCheck } from './totp.js';
export { createPasskeys, type KeyMethod, type PasskeyAssertion, type Passkeys, type RelyingParty } from './webauthn.js';
export { resetFactors } from './reset.js';
