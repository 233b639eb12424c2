import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../../audit/event.js';
import type { SecurityEvents } from '../../lib/security-events.js';
import type { Role } from '../../http/principal.js';

/**
 * What an authentication event records (seed: audit logs of all authentication
 * attempts): kinds and reason codes, never a password, code, secret or token.
 */
export type AuthEventKind =
  | 'login.password'
  | 'login.passkey'
  | 'login.success'
  | 'mfa.verify'
  | 'mfa.enrol'
  | 'mfa.recovery_code'
  | 'login.timeout';

/** One event's facts. `reason` is `ok` or a machine reason code. */
export interface AuthEventInput {
  readonly kind: AuthEventKind;
  readonly reason: string;
  readonly status: number;
  readonly userId: string | null;
  readonly role: Role | null;
  readonly clientId: string | null;
  readonly uid: string;
  /** The attempted username, only ever as its fingerprint (a password typed into the username field must not reach the log). */
  readonly username?: string;
  /** Non-secret facts: method (totp, passkey), amr, remaining recovery codes. */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * A stable, non-reversible key for an attempted username: SHA-256 of its
 * trimmed lower-case form. Monitoring counts failures per account by it; an
 * operator can compute it for a known username to search the log.
 */
export function usernameFingerprint(username: string): string {
  return `u:${createHash('sha256')
    .update(`caduceus-login:${username.trim().normalize('NFKC').toLowerCase()}`)
    .digest('hex')
    .slice(0, 32)}`;
}

/** Records authentication events durably (HIPAA 164.312(b)); failures also go to the security-event stream for monitoring. */
export function createAuthEvents(audit: AuditLog, events: SecurityEvents) {
  return {
    /** Resolves once durable; rejects when the audit log cannot write (the caller fails closed). */
    async record(request: FastifyRequest, input: AuthEventInput): Promise<void> {
      const account = input.username === undefined ? undefined : usernameFingerprint(input.username);
      const details: Record<string, string | number | boolean> = {
        reason: input.reason,
        interactionId: input.uid,
        ...input.details,
      };
      if (account !== undefined) details.account = account;
      await audit.record({
        time: new Date().toISOString(),
        requestId: request.id,
        category: 'auth',
        actor: { subject: input.userId, client: input.clientId, role: input.role, sourceIp: request.ip },
        action: { interaction: input.kind, resourceType: null, resourceId: null, details },
        outcome: { status: input.status, code: input.reason === 'ok' ? null : input.reason },
      });
      if (input.reason !== 'ok' && input.kind !== 'login.timeout') {
        // failed_login_burst_account / _ip count these (src/monitoring/rules/).
        events.emit({
          kind: 'auth.failed',
          requestId: request.id,
          sourceIp: request.ip,
          subject: input.userId ?? account ?? null,
          details: { step: input.kind, reason: input.reason },
        });
      }
    },
  };
}

/** The authentication-event recorder of one app. */
export type AuthEvents = ReturnType<typeof createAuthEvents>;
