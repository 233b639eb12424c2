/**
 * Incident response (`caduceus token revoke --user|--client`): every grant and
 * every live token of a user or a client ends at once. Grants, codes,
 * refresh tokens and sessions are deleted from provider storage; live access
 * tokens (JWTs, which cannot be recalled) are refused by the gate through
 * the revocation store: by subject for everything issued until now, and by
 * grant for the grants that were found.
 */
import type { OidcStateStore } from '../../storage/oidc-ports.js';
import type { RevocationStore } from '../revocation.js';

/** What a bulk revocation ended. */
export interface BulkRevocation {
  readonly grants: number;
  readonly records: number;
}

async function revokeGrants(revocation: RevocationStore, grantIds: readonly string[]): Promise<void> {
  for (const grantId of grantIds) await revocation.revokeGrant(grantId);
}

/** Ends every grant, session and token of a user. */
export async function revokeAllForAccount(
  state: OidcStateStore,
  revocation: RevocationStore,
  accountId: string,
): Promise<BulkRevocation> {
  // The subject first: from this instant every token it holds is refused, even while storage is being cleaned.
  await revocation.revokeSubject(accountId);
  const revoked = await state.revokeByAccount(accountId);
  await revokeGrants(revocation, revoked.grantIds);
  return { grants: revoked.grantIds.length, records: revoked.records };
}

/** Ends every grant and token of a client: its users' grants, and its own client_credentials tokens (`sub` = client id). */
export async function revokeAllForClient(
  state: OidcStateStore,
  revocation: RevocationStore,
  clientId: string,
): Promise<BulkRevocation> {
  await revocation.revokeSubject(clientId);
  const revoked = await state.revokeByClient(clientId);
  await revokeGrants(revocation, revoked.grantIds);
  return { grants: revoked.grantIds.length, records: revoked.records };
}
