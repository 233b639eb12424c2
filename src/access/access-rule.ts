import type { PatientReach } from './care-team/reach.js';
import type { Grant, Interaction } from './permissions.js';
import type { Principal } from '../http/principal.js';

/**
 * What a route declares about who may reach it. Routes with no rule are
 * unreachable (DESIGN.md: deny by default). `sensitive` routes also demand a
 * token whose `amr` shows multi-factor authentication (RFC 9470 step-up,
 * docs/access-control.md); every delete is sensitive, marked or not.
 */
export type AccessRule =
  'public' | { readonly resourceType: string; readonly interaction: Interaction; readonly sensitive?: boolean };

/** True when the rule demands MFA: marked sensitive, or a delete. */
export function isSensitive(rule: Exclude<AccessRule, 'public'>): boolean {
  return rule.sensitive === true || rule.interaction === 'delete';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    /** Set by the authentication layer from a verified access token. */
    principal: Principal | null;
    /** Set by the access decision: the caller's rights on the route's resource type. */
    grant: Grant | null;
    /**
     * Set by the access decision: the patient compartments the caller may
     * reach (own patient, care team, a patient/ scope's patient), or null
     * when not restricted. Handlers check every resource against it.
     */
    reach: PatientReach | null;
  }
}
