import type { FastifyInstance, HTTPMethods } from 'fastify';
import { ApiError } from '../errors/index.js';

const methods: readonly HTTPMethods[] = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

/**
 * Answers 405 with Allow for every method a path does not serve (RFC 9110
 * §15.5.6), before authentication: the answer reveals nothing about data.
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  const served = allowed.includes('GET') ? [...allowed, 'HEAD' as const] : allowed;
  const others = methods.filter((method) => !served.includes(method));
  const allow = served.join(', ');
  app.route({
    method: others,
    url,
    config: { access: 'public' },
    handler: () => {
      throw new ApiError('METHOD_NOT_ALLOWED', undefined, { allow });
    },
  });
}
