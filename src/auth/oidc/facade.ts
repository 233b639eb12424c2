/**
 * The typed seam between the authorization server (oidc-provider 9, untyped
 * at heart and Koa-based) and the rest of Caduceus: the login and MFA pages
 * (src/auth/login/, src/auth/mfa/) read an interaction and finish it here,
 * and the provider reads accounts through `AccountDirectory`. Nothing outside
 * src/auth/oidc/ imports oidc-provider (STYLE.md #7: untyped libraries get a
 * thin typed facade of ours).
 */
import { CaduceusError } from '../../errors/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Role } from '../../http/principal.js';

/** The path the provider sends the browser to for login and consent; `:uid` names the interaction. */
export const interactionPathTemplate = '/interaction/:uid';

/** Builds the interaction path for one uid. */
export function interactionPath(uid: string): string {
  return `/interaction/${encodeURIComponent(uid)}`;
}

/** What the login pages need to know about a pending interaction. */
export interface InteractionDetails {
  /** The interaction id (the `:uid` of the path); opaque. */
  readonly uid: string;
  /** What the provider asks for: `login` (who are you) or `consent` (may this client have these scopes). */
  readonly prompt: 'login' | 'consent';
  /** Why the prompt is shown (oidc-provider reasons such as `no_session`, `max_age`, `login_prompt`). */
  readonly reasons: readonly string[];
  readonly clientId: string;
  /** The client's display name, when registered with one. */
  readonly clientName: string | null;
  /** Requested scopes, space-split. */
  readonly scopes: readonly string[];
  /** The account already signed in to this browser session, if any (a consent or step-up prompt). */
  readonly accountId: string | null;
  /** Requested `acr_values`, space-split (step-up: the pages must demand MFA when asked). */
  readonly acrValues: readonly string[];
  /** Requested `login_hint`, if any; a hint only, never trusted. */
  readonly loginHint: string | null;
}

/** The outcome of a successful login (password, then MFA when required). */
export interface LoginResult {
  /** The user's stable id (`sub`); never the username. */
  readonly accountId: string;
  /** RFC 8176 methods used, e.g. `['pwd']`, `['pwd', 'otp']`, `['hwk', 'user']`. */
  readonly amr: readonly string[];
  /** Assurance reached, e.g. `urn:caduceus:acr:pwd` or `urn:caduceus:acr:mfa` (see `acrValues` below). */
  readonly acr: string;
}

/** The authentication context classes this server issues, weakest first. */
export const acrValues = Object.freeze({
  password: 'urn:caduceus:acr:pwd',
  mfa: 'urn:caduceus:acr:mfa',
} as const);

/** Ends an interaction without a login (user cancelled, account refused); RFC 6749 §4.1.2.1 error codes. */
export interface InteractionAbort {
  readonly error: 'access_denied' | 'login_required' | 'interaction_required';
  /** Safe, generic text: no username, no reason that would enumerate accounts. */
  readonly description?: string;
}

/** Where to send the browser next (303 See Other) after finishing or aborting an interaction. */
export interface InteractionRedirect {
  readonly redirectTo: string;
}

/**
 * The authorization server as the rest of the app sees it. Pass Fastify's
 * `request.raw` / `reply.raw`; the methods never write the response, so
 * Fastify's hooks (security headers, audit) still run on the redirect.
 */
export interface AuthorizationServer {
  /** The pending interaction of this browser (its cookie names it); rejects with `InteractionNotFoundError`. */
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  /**
   * Completes login (and the consent for the requested scopes: clients are
   * registered by an operator, so there is no third-party consent screen yet).
   */
  finishInteraction(req: IncomingMessage, res: ServerResponse, result: LoginResult): Promise<InteractionRedirect>;
  /** Ends the interaction with an OAuth error sent back to the client. */
  abortInteraction(req: IncomingMessage, res: ServerResponse, abort: InteractionAbort): Promise<InteractionRedirect>;
}

/** Raised when the interaction cookie or record is missing or expired; answer 400 with a "start again" page. */
export class InteractionNotFoundError extends CaduceusError {
  override readonly name = 'InteractionNotFoundError';
  readonly code = 'INTERACTION_NOT_FOUND';
  readonly operatorSafe = true;
}

/** An account as the authorization server needs it to issue tokens. */
export interface Account {
  /** Stable user id: the token `sub`. */
  readonly accountId: string;
  /** The role the bearer gate reads (src/auth/token-claims.ts `role`). */
  readonly role: Role;
  /** The linked Patient id (SMART patient context), or null. */
  readonly patient: string | null;
  /** The FHIR resource URL of the user (SMART `fhirUser`), or null. */
  readonly fhirUser: string | null;
  /** A disabled account gets no tokens, not even from a refresh. */
  readonly disabled: boolean;
}

/**
 * Where the provider finds accounts: implemented over the users port
 * (src/auth/users/) by whoever wires the app; tests pass their own.
 */
export interface AccountDirectory {
  findAccount(accountId: string): Promise<Account | undefined>;
}
