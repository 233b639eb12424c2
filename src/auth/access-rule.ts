import type { Grant, Interaction } from './permissions.js';
import type { Principal } from './principal.js';

/**
 * What a route declares about who may reach it. Routes with no rule are
 * unreachable (DESIGN.md: deny by default).
 */
export type AccessRule = 'public' | { readonly resourceType: string; readonly interaction: Interaction };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    /** Set by the authentication layer from a verified access token. */
    principal: Principal | null;
    /** Set by the access decision: the caller's rights on the route's resource type. */
    grant: Grant | null;
  }
}
