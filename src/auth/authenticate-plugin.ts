import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import '../http/pipeline-plugin.js';
import { ApiError } from '../errors/index.js';
import { checkCertificateBinding } from './certificate-binding.js';
import type { Principal } from '../http/principal.js';
import { TokenError, type TokenFailureReason } from './token-error.js';
import { claimedSubjectOf } from './token-parts.js';
import { reachedAuthentication } from '../http/request-context.js';
import '../access/access-rule.js';

/** Verifies a bearer token into a principal; throws ApiError AUTH_ERROR. */
export interface BearerVerifier {
  verify(token: string): Promise<Principal>;
}

/** RFC 6750 §2.1: exactly one "Bearer" credential in Authorization. */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  return match?.[1];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the bearer token was refused, for the audit event. */
    authFailure: TokenFailureReason | null;
    /** The `sub` a refused token claimed (unverified), for the audit event; never the principal. */
    claimedSubject: string | null;
  }
}

/**
 * The authentication layer (request-path step 3), the `bearer-token` step:
 * every route that is not public needs a valid RFC 9068 access token;
 * failures answer 401 AUTH_ERROR with WWW-Authenticate.
 */
export const authenticatePlugin = fp(
  (app: FastifyInstance, options: { verifier: BearerVerifier }) => {
    app.decorateRequest('principal', null);
    app.decorateRequest('grant', null);
    app.decorateRequest('authFailure', null);
    app.decorateRequest('claimedSubject', null);
    app.pipeline.add({
      name: 'bearer-token',
      async run(request) {
        const rule = request.routeOptions.config.access;
        // Unknown paths answer 404 to anyone: there is nothing behind them to protect.
        if (rule === 'public' || request.is404) return;
        request[reachedAuthentication] = true;
        const token = bearerToken(request);
        if (token === undefined) {
          // RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
          throw new ApiError('AUTH_ERROR', 'A bearer access token is required', { 'www-authenticate': 'Bearer' });
        }
        // The verifier's TokenError is AUTH_ERROR with the RFC 6750 challenge, or
        // SERVICE_UNAVAILABLE when keys or revocation cannot be read (fail closed).
        try {
          const principal = await options.verifier.verify(token);
          // RFC 8705 §3: a certificate-bound token only with its certificate (docs/tls.md).
          checkCertificateBinding(principal, request.clientCertificate);
          request.principal = principal;
        } catch (error) {
          // The machine reason (expired, revoked, bad_signature, …) goes to the audit event, never to the client.
          if (error instanceof TokenError) {
            request.authFailure = error.reason;
            request.claimedSubject = claimedSubjectOf(token);
          }
          throw error;
        }
      },
    });
  },
  { name: 'caduceus-authenticate', dependencies: ['caduceus-pipeline', 'caduceus-client-certificate'] },
);
