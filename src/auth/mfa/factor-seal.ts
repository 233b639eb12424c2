import type { SealContext, Sealer } from '../../keys/ports.js';

/**
 * Factor secrets pass the core's sealing seam (DESIGN.md "Data protection")
 * under a context that binds them to their user and factor: a sealed TOTP
 * seed copied into another user's row, or another factor's, fails to open
 * (the envelope sealer's AAD covers type, id and version).
 */
export function factorSealContext(userId: string, factorId: string): SealContext {
  // Length-prefixed, so no (user, factor) pair can spell another's id.
  return { type: 'MfaFactor', id: `${userId.length}:${userId}:${factorId}`, version: 1 };
}

/** Seals a JSON value for one factor. */
export function sealFactorSecret(
  sealer: Sealer,
  userId: string,
  factorId: string,
  value: unknown,
): Promise<Uint8Array> {
  return sealer.seal(new TextEncoder().encode(JSON.stringify(value)), factorSealContext(userId, factorId));
}

/** Opens what {@link sealFactorSecret} sealed; rejects (IntegrityError) when it was altered or moved. */
export async function openFactorSecret(
  sealer: Sealer,
  userId: string,
  factorId: string,
  sealed: Uint8Array,
): Promise<unknown> {
  return JSON.parse(
    new TextDecoder().decode(await sealer.open(sealed, factorSealContext(userId, factorId))),
  ) as unknown;
}
