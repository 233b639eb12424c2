import type { RotatingKeyManager } from '../keys/ports.js';

/** The outcome of a signing-key rotation: the new kids, and the earlier ones that stay published. */
export interface SigningOutcome {
  readonly kind: 'signing';
  readonly tokenSigning: { readonly kid: string; readonly previous: readonly string[] };
  readonly auditSigning: { readonly kid: string; readonly previous: readonly string[] };
}

/**
 * Adds a new token-signing and a new audit-signing key, each current at once
 * (every process reloads the keyring within 5 s). Earlier keys stay in the
 * keyring: `publicKeys` keeps offering them, so an access token signed
 * before the rotation verifies until it expires (RFC 7517 key rollover: the
 * old key stays published while its tokens live) and audit checkpoints stay
 * verifiable for good.
 */
export async function rotateSigningKeys(keys: RotatingKeyManager): Promise<SigningOutcome> {
  const previousToken = (await keys.publicKeys('token-signing')).map((key) => key.kid);
  const previousAudit = (await keys.publicKeys('audit-signing')).map((key) => key.kid);
  const token = await keys.rotate('token-signing');
  const audit = await keys.rotate('audit-signing');
  return {
    kind: 'signing',
    tokenSigning: { kid: token.kid, previous: previousToken },
    auditSigning: { kid: audit.kid, previous: previousAudit },
  };
}
