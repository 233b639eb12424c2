import type { AccessRule } from '../access-rule.js';
import { grantFor, type Grant } from '../permissions.js';
import { isClientToken, type Principal } from '../../http/principal.js';
import { coveringContexts } from './covers.js';
import { parseResourceScopes, type ScopeContext } from './scope.js';

/** Why an access decision refused: for tests and the docs; the client only ever sees 403. */
export type Refusal = 'role' | 'scope' | 'compartment';

/** The outcome of the role-and-scope decision, before any patient is known. */
export type AccessDecision =
  | { readonly allowed: false; readonly refusal: Refusal }
  | {
      readonly allowed: true;
      readonly grant: Grant;
      /** True when only patient/ scopes cover the request: it then reaches the token's patient only. */
      readonly patientScopeOnly: boolean;
    };

/**
 * The contexts a principal may use: `system/` only on a client's own token
 * (client_credentials), `user/` only on a user's token, `patient/` only with
 * a `patient` claim naming the compartment it reaches (SMART v2 scopes).
 */
function usable(context: ScopeContext, principal: Principal): boolean {
  switch (context) {
    case 'system':
      return isClientToken(principal);
    case 'user':
      return !isClientToken(principal);
    case 'patient':
      return principal.patient !== null;
  }
}

/**
 * The role grant intersected with the token's SMART scopes: a request needs
 * both (docs/access-control.md). The patient restriction that follows (own
 * patient, care team, patient/ scope) is built from the result by the access
 * plugin.
 */
export function decideAccess(rule: Exclude<AccessRule, 'public'>, principal: Principal): AccessDecision {
  const grant = grantFor(rule.resourceType, principal.role);
  if (grant === undefined || !grant.interactions.includes(rule.interaction)) return { allowed: false, refusal: 'role' };
  const contexts = [
    ...coveringContexts(parseResourceScopes(principal.scopes), rule.resourceType, rule.interaction),
  ].filter((context) => usable(context, principal));
  if (contexts.length === 0) return { allowed: false, refusal: 'scope' };
  // A compartment-bound role whose token names no patient reaches nothing.
  if (grant.compartment === 'own' && principal.patient === null) return { allowed: false, refusal: 'compartment' };
  return { allowed: true, grant, patientScopeOnly: contexts.every((context) => context === 'patient') };
}
