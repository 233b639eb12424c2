import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../audit/event.js';
import type { LoginConfig } from '../../config/login.js';
import type { Sealer } from '../../keys/ports.js';
import type { SecurityEvents } from '../../lib/security-events.js';
import type { KeyValueStore } from '../../storage/ports.js';
import { createTotpFactors, type TotpFactors } from '../mfa/factors.js';
import type { MfaFactorStore } from '../../storage/mfa-ports.js';
import { createPasskeys, type Passkeys } from '../mfa/webauthn.js';
import {
  acrValues,
  InteractionNotFoundError,
  type AuthorizationServer,
  type InteractionDetails,
} from '../oidc/facade.js';
import type { Role } from '../../http/principal.js';
import type { UserDirectory } from '../../storage/user-ports.js';
import { createAuthEvents, type AuthEventInput, type AuthEvents } from './auth-events.js';
import { browserFingerprint, csrfToken, ensureBrowserCookie } from './browser-binding.js';
import { createLoginStates, type AuthMethod, type LoginState, type LoginStates } from './login-state.js';
import { messagePage, pageCsp, paths, type PageContext } from './pages.js';

/** What the login pages need, passed in (STYLE.md #1). */
export interface LoginPagesOptions {
  readonly authorizationServer: AuthorizationServer;
  readonly users: UserDirectory;
  readonly factors: MfaFactorStore;
  readonly kv: KeyValueStore;
  readonly sealer: Sealer;
  readonly audit: AuditLog;
  readonly events: SecurityEvents;
  readonly config: LoginConfig;
  /** Milliseconds since the epoch; Date.now by default (tests move time). */
  readonly now?: () => number;
}

/** One request's view of its interaction: the provider's details, this browser, the page context. */
export interface Begun {
  readonly details: InteractionDetails;
  readonly browser: string;
  readonly context: PageContext;
}

/** Wrong second-factor codes one interaction may try before it must start again. */
export const maxMfaFailures = 5;

/** The shared machinery of every step. */
export interface LoginFlow {
  readonly options: LoginPagesOptions;
  readonly states: LoginStates;
  readonly totp: TotpFactors;
  readonly passkeys: Passkeys;
  readonly now: () => Date;
  /** Sends a page with its CSP. */
  page(reply: FastifyReply, status: number, markup: string, withScript?: boolean): FastifyReply;
  /** The interaction of this request, or undefined after answering with a "start again" page. */
  begin(request: FastifyRequest, reply: FastifyReply, uid: string): Promise<Begun | undefined>;
  /** Audits an event, filling in the interaction's client. */
  audit(request: FastifyRequest, begun: Begun, input: Omit<AuthEventInput, 'clientId' | 'uid'>): Promise<void>;
  /** True when this user must pass a second factor (role in CADUCEUS_MFA_ROLES, or the client asked for MFA). */
  mfaRequired(role: Role, details: InteractionDetails): boolean;
  /** After the first factor: the MFA page, enrolment, or (no factor needed) the end. */
  afterFirstFactor(
    request: FastifyRequest,
    reply: FastifyReply,
    begun: Begun,
    state: LoginState,
  ): Promise<FastifyReply>;
  /** Completes the interaction with the methods passed and sends the browser on (303). */
  finish(request: FastifyRequest, reply: FastifyReply, begun: Begun, state: LoginState): Promise<FastifyReply>;
  /** The redirect that finishing would send, for the passkey script (JSON) instead of a 303; undefined when the interaction is gone. */
  finishTarget(
    request: FastifyRequest,
    reply: FastifyReply,
    begun: Begun,
    state: LoginState,
  ): Promise<string | undefined>;
}

/** RFC 8176: `mfa` once two different kinds of factor passed. */
function withMfa(amr: readonly AuthMethod[]): AuthMethod[] {
  const unique = [...new Set(amr)];
  const strong = unique.includes('otp') || unique.includes('hwk') || unique.includes('swk');
  const second = unique.includes('pwd') || unique.includes('user');
  return strong && second && !unique.includes('mfa') ? [...unique, 'mfa'] : unique;
}

/** Builds the flow once per app. */
export function createLoginFlow(options: LoginPagesOptions): LoginFlow {
  const clock = options.now ?? Date.now;
  const states = createLoginStates(
    options.kv,
    { idleSeconds: options.config.sessionIdleSeconds, absoluteSeconds: options.config.sessionAbsoluteSeconds },
    clock,
  );
  const authEvents: AuthEvents = createAuthEvents(options.audit, options.events);
  const flow: LoginFlow = {
    options,
    states,
    totp: createTotpFactors(options.factors, options.sealer, options.kv),
    passkeys: createPasskeys(options.factors, options.sealer, options.config.webauthn),
    now: () => new Date(clock()),

    page(reply, status, markup, withScript = false) {
      return reply
        .code(status)
        .header('content-security-policy', pageCsp(withScript))
        .type('text/html; charset=utf-8')
        .send(markup);
    },

    async begin(request, reply, uid) {
      let details: InteractionDetails;
      try {
        details = await options.authorizationServer.interactionDetails(request.raw, reply.raw);
      } catch (error) {
        if (!(error instanceof InteractionNotFoundError)) throw error;
        flow.page(
          reply,
          400,
          messagePage(
            'Sign-in expired',
            'This sign-in has expired or was already used. Go back to the application and start again.',
          ),
        );
        return undefined;
      }
      // The interaction cookie names the interaction; a path naming another one is refused, not followed.
      if (details.uid !== uid) {
        flow.page(
          reply,
          400,
          messagePage(
            'Sign-in expired',
            'This sign-in does not match this browser. Go back to the application and start again.',
          ),
        );
        return undefined;
      }
      const secret = ensureBrowserCookie(request, reply);
      return {
        details,
        browser: browserFingerprint(secret),
        context: { uid, csrf: csrfToken(secret, uid), idleSeconds: options.config.sessionIdleSeconds },
      };
    },

    audit(request, begun, input) {
      return authEvents.record(request, { ...input, clientId: begun.details.clientId, uid: begun.details.uid });
    },

    mfaRequired(role, details) {
      return options.config.mfaRoles.includes(role) || details.acrValues.includes(acrValues.mfa);
    },

    async afterFirstFactor(request, reply, begun, state) {
      if (state.complete) return flow.finish(request, reply, begun, state);
      const summary = await flow.totp.summary(state.userId ?? '');
      if (summary.totp || summary.passkey) {
        await states.save(state);
        return reply.redirect(paths.step(begun.context.uid, 'mfa'), 303);
      }
      if (state.role !== null && flow.mfaRequired(state.role, begun.details)) {
        await states.save(state);
        return reply.redirect(paths.step(begun.context.uid, 'enrol'), 303);
      }
      state.complete = true;
      return flow.finish(request, reply, begun, state);
    },

    async finish(request, reply, begun, state) {
      const target = await flow.finishTarget(request, reply, begun, state);
      if (target !== undefined) return reply.redirect(target, 303);
      return flow.page(
        reply,
        400,
        messagePage(
          'Sign-in expired',
          'This sign-in can no longer be finished. Go back to the application and start again.',
        ),
      );
    },

    async finishTarget(request, reply, begun, state) {
      const amr = withMfa(state.amr);
      const acr = amr.includes('mfa') ? acrValues.mfa : acrValues.password;
      const accountId = state.userId ?? '';
      await states.remove(begun.context.uid);
      let redirectTo: string;
      try {
        ({ redirectTo } = await options.authorizationServer.finishInteraction(request.raw, reply.raw, {
          accountId,
          amr,
          acr,
        }));
      } catch (error) {
        // Expired meanwhile, or a consent prompt of another account's session: nothing was granted.
        if (error instanceof InteractionNotFoundError) return undefined;
        throw error;
      }
      // Durable before the browser learns where to go (fails closed with 503 otherwise).
      await flow.audit(request, begun, {
        kind: 'login.success',
        reason: 'ok',
        status: 303,
        userId: accountId,
        role: state.role,
        details: { amr: amr.join(' '), acr },
      });
      return redirectTo;
    },
  };
  return flow;
}
