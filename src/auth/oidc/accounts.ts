import type { AccountClaims } from '../../storage/user-ports.js';
import type { Account, AccountDirectory } from './facade.js';

/** The part of the user directory (src/auth/users/) the authorization server reads. */
export interface AccountClaimsSource {
  /** Claims of an active user, or undefined (unknown or disabled). */
  findAccountClaims(id: string): Promise<AccountClaims | undefined>;
}

/** The provider's account directory over the users port: a disabled or unknown user gets no token, not even by refresh. */
export function accountDirectoryFromUsers(users: AccountClaimsSource): AccountDirectory {
  return {
    async findAccount(accountId): Promise<Account | undefined> {
      const claims = await users.findAccountClaims(accountId);
      if (claims === undefined) return undefined;
      return {
        accountId: claims.sub,
        role: claims.role,
        patient: claims.patient ?? null,
        fhirUser: claims.fhirUser ?? null,
        disabled: false,
      };
    },
  };
}
