import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';
import { ApiError } from '../errors/index.js';
import { isSensitive } from './access-rule.js';
import { careTeamReach, fixedReach, intersectReach, type PatientReach } from './care-team/reach.js';
import type { CareTeamStore } from '../storage/care-team-ports.js';
import { hasMultiFactor, type Principal } from '../http/principal.js';
import { decideAccess, type AccessDecision } from './scopes/decision.js';

/** What the access decision needs besides the request. */
export interface AccessOptions {
  /** Care-team assignments: which patients an `assigned` role reaches. */
  readonly careTeam: CareTeamStore;
}

/**
 * RFC 9470 §3: the step-up challenge. Our envelope carries MFA_REQUIRED; the
 * header tells an OAuth client to send the user back through MFA.
 */
function stepUpRequired(): ApiError {
  return new ApiError('MFA_REQUIRED', undefined, {
    'www-authenticate':
      'Bearer error="insufficient_user_authentication", error_description="A token from multi-factor authentication is required"',
  });
}

/** The patient compartments an allowed request may reach; null when unrestricted. */
function reachOf(
  decision: Extract<AccessDecision, { allowed: true }>,
  principal: Principal,
  careTeam: CareTeamStore,
): PatientReach | null {
  const own = fixedReach(principal.patient === null ? [] : [principal.patient]);
  const byRole =
    decision.grant.compartment === 'any'
      ? null
      : decision.grant.compartment === 'own'
        ? own
        : careTeamReach(careTeam, principal.subject);
  if (!decision.patientScopeOnly) return byRole;
  return byRole === null ? own : intersectReach(byRole, own);
}

/**
 * The access decision (request-path step 5), the `access-decision` step: the
 * route's rule against the principal's role AND its SMART scopes (403 unless
 * both allow), then MFA for sensitive rules (401 MFA_REQUIRED), from route
 * and token alone, before any body is read (DESIGN.md). Instance-level
 * checks follow in the handlers (src/access/checks/), which read
 * `request.grant` and `request.reach`.
 */
export const accessPlugin = fp(
  (app: FastifyInstance, options: AccessOptions) => {
    app.decorateRequest('reach', null);
    app.pipeline.add({
      name: 'access-decision',
      run(request) {
        const rule = request.routeOptions.config.access;
        if (rule === 'public' || request.is404) return;
        const principal = request.principal;
        const decision = rule === undefined || principal === null ? undefined : decideAccess(rule, principal);
        if (rule === undefined || principal === null || decision === undefined || !decision.allowed)
          throw new ApiError('FORBIDDEN');
        // After the role and scope check: a caller who may not do this at all learns nothing from a step-up challenge.
        if (isSensitive(rule) && !hasMultiFactor(principal)) throw stepUpRequired();
        request.grant = decision.grant;
        request.reach = reachOf(decision, principal, options.careTeam);
      },
    });
  },
  { name: 'caduceus-access', dependencies: ['caduceus-pipeline', 'caduceus-authenticate'] },
);
