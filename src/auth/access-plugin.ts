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
    app.addHook('preHandler', (request, _reply, done) => {
      const rule = request.routeOptions.config.access;
      if (rule === 'public' || request.is404) {
        done();
        return;
      }
      const principal = request.principal;
      const grant = rule === undefined || principal === null ? undefined : grantFor(rule.resourceType, principal.role);
      if (rule === undefined || grant === undefined || !grant.interactions.includes(rule.interaction)) {
        done(new ApiError('FORBIDDEN'));
        return;
      }
      request.grant = grant;
      done();
    });
  },
  { name: 'caduceus-access', dependencies: ['caduceus-authenticate'] },
);
