import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/index.js';
import { grantFor } from './permissions.js';
import './access-rule.js';

/**
 * The access decision (request-path step 6): the route's rule against the
 * principal's role. No rule, no role grant, or no interaction: 403.
 * Instance-level checks (patient compartment) follow in the handlers, which
 * read `request.grant`.
 */
export const accessPlugin = fp(
  (app: FastifyInstance) => {
    app.addHook('preHandler', async (request) => {
      const rule = request.routeOptions.config.access;
      if (rule === 'public' || request.is404) return;
      const principal = request.principal;
      if (rule === undefined || principal === null) throw new ApiError('FORBIDDEN');
      const grant = grantFor(rule.resourceType, principal.role);
      if (grant === undefined || !grant.interactions.includes(rule.interaction)) throw new ApiError('FORBIDDEN');
      request.grant = grant;
    });
  },
  { name: 'caduceus-access', dependencies: ['caduceus-authenticate'] },
);
