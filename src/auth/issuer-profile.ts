import type { KeyManager, PublicKeyInfo, SigningAlgorithm } from '../keys/ports.js';

export type { AcceptedTokenType } from '../config/external-issuers-file.js';
import type { AcceptedTokenType } from '../config/external-issuers-file.js';

/** One trusted token issuer: its exact `iss`, algorithms, accepted `typ` and verification keys. */
export interface IssuerProfile {
  readonly issuer: string;
  readonly algorithms: readonly SigningAlgorithm[];
  readonly typ: 'at+jwt' | readonly AcceptedTokenType[];
  /**
   * The keys that may verify this issuer's tokens. Return the same KeyObject
   * instances on every call: jose caches its conversion per KeyObject.
   */
  keys(): Promise<PublicKeyInfo[]>;
  /** The `aud` this issuer's tokens carry for this API; the verifier's audience when absent. */
  readonly audience?: string;
  /** Keys fetched again after an unknown `kid` (a rotation at a remote IdP, docs/external-idp.md); absent for local keys. */
  refreshKeys?(): Promise<PublicKeyInfo[]>;
  /**
   * Maps a remote IdP's verified claims onto ours (role, client_id, jti,
   * scope) before they are checked; throws a TokenError when they cannot be.
   */
  mapClaims?(claims: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

/** The profile of tokens this server signs itself (the key manager's token-signing keys). */
export function localIssuerProfile(
  issuer: string,
  keys: KeyManager,
  algorithms: readonly SigningAlgorithm[] = ['ES256'],
): IssuerProfile {
  return { issuer, algorithms, typ: 'at+jwt', keys: () => keys.publicKeys('token-signing') };
}
