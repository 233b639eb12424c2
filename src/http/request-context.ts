/**
 * What every layer may know of a request: the decorations that several
 * layers set or read, declared once here so no layer imports another's
 * plugin to see them.
 */
import type { PresentedCertificate } from '../lib/certificate-thumbprint.js';

/** Marks that a request reached authentication: it gets exactly one audit event. */
export const reachedAuthentication = Symbol('reachedAuthentication');

/** What a handler adds to its request's audit event: never bodies or values. */
export interface AuditDetails {
  resourceId?: string | null;
  searchParams?: readonly string[];
  resultIds?: readonly string[];
  /** Non-PHI identifiers an administrative change names (e.g. the subject and Patient id of a care-team assignment). */
  details?: Readonly<Record<string, string>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    [reachedAuthentication]?: boolean;
    /** Set by the edge's client-certificate step (src/edge/mtls/client-certificate.ts); null when none was presented. */
    clientCertificate: PresentedCertificate | null;
    /** Set by handlers for the per-request audit event (src/audit/request-audit-plugin.ts). */
    auditDetails: AuditDetails | null;
  }
}
