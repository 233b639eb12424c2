import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Begun, LoginFlow } from './flow.js';
import { beginPost } from './form.js';
import { enrolled, enrolmentState } from './enrol-step.js';
import type { LoginState } from './login-state.js';
import { pendingState } from './mfa-step.js';

/**
 * The passkey ceremonies, called by /assets/login/passkey.js with JSON
 * (progressive enhancement: every page works without it). The CSRF token
 * comes in the `x-csrf-token` header; the challenge stays server-side in the
 * login state, so the browser cannot choose it.
 */

type Purpose = 'login' | 'register';

function purposeOf(request: FastifyRequest): Purpose | undefined {
  const purpose = (request.body as { purpose?: unknown } | null)?.purpose;
  return purpose === 'login' || purpose === 'register' ? purpose : undefined;
}

function csrfHeader(request: FastifyRequest): string {
  const value = request.headers['x-csrf-token'];
  return typeof value === 'string' ? value : '';
}

function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: message });
}

/** The state a ceremony runs in: registration only during enrolment; login as first factor (fresh) or second (after the password). */
async function ceremonyState(
  flow: LoginFlow,
  reply: FastifyReply,
  begun: Begun,
  purpose: Purpose,
): Promise<LoginState | undefined> {
  if (purpose === 'register') return enrolmentState(flow, reply, begun);
  const state = await flow.states.load(begun.context.uid, begun.browser);
  if (state === undefined) return flow.states.fresh(begun.context.uid, begun.browser);
  return state.userId === null ? state : pendingState(flow, reply, begun);
}

/** The checks both ceremony calls begin with: CSRF and interaction, a known purpose, a state to run in; undefined when the reply is already sent. */
async function beginCeremony(
  flow: LoginFlow,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<{ begun: Begun; purpose: Purpose; state: LoginState } | undefined> {
  const begun = await beginPost(flow, request, reply, csrfHeader(request));
  if (begun === undefined) return undefined;
  const purpose = purposeOf(request);
  if (purpose === undefined) {
    void refuse(reply, 400, 'Unknown purpose');
    return undefined;
  }
  const state = await ceremonyState(flow, reply, begun, purpose);
  return state === undefined ? undefined : { begun, purpose, state };
}

async function postOptions(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ceremony = await beginCeremony(flow, request, reply);
  if (ceremony === undefined) return reply;
  const { purpose, state } = ceremony;
  let options;
  if (purpose === 'register') {
    const user = await flow.options.users.findActiveUser(state.userId ?? '');
    if (user === undefined) return refuse(reply, 401, 'Sign in again');
    options = await flow.passkeys.registrationOptions({ id: user.id, username: user.username });
  } else {
    options = await flow.passkeys.authenticationOptions(state.userId);
  }
  state.challenge = { value: options.challenge, purpose };
  await flow.states.save(state);
  return reply.type('application/json; charset=utf-8').send({ options });
}

async function verifyLogin(
  flow: LoginFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  begun: Begun,
  state: LoginState,
  challenge: string,
): Promise<FastifyReply> {
  const firstFactor = state.userId === null;
  const response = (request.body as { response?: AuthenticationResponseJSON }).response;
  const assertion =
    response === undefined ? null : await flow.passkeys.authenticate(response, challenge, state.userId, flow.now());
  const user = assertion === null ? undefined : await flow.options.users.findActiveUser(assertion.userId);
  const kind = firstFactor ? 'login.passkey' : 'mfa.verify';
  if (assertion === null || user === undefined) {
    await flow.audit(request, begun, {
      kind,
      reason: 'invalid_passkey',
      status: 401,
      userId: state.userId,
      role: state.role,
      details: { method: 'passkey' },
    });
    return refuse(reply, 401, 'The passkey was not accepted');
  }
  await flow.audit(request, begun, {
    kind,
    reason: 'ok',
    status: 200,
    userId: user.id,
    role: user.role,
    details: { method: 'passkey' },
  });
  if (firstFactor) {
    state.userId = user.id;
    state.role = user.role;
    // A passkey with user verification is possession plus PIN or biometric (RFC 8176 `user`: a user-presence test).
    state.amr = [assertion.method, 'user'];
  } else {
    state.amr.push(assertion.method);
  }
  state.complete = true;
  const redirectTo = await flow.finishTarget(request, reply, begun, state);
  if (redirectTo === undefined) return refuse(reply, 400, 'This sign-in has expired; start again from the application');
  return reply.type('application/json; charset=utf-8').send({ redirectTo });
}

async function verifyRegistration(
  flow: LoginFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  begun: Begun,
  state: LoginState,
  challenge: string,
): Promise<FastifyReply> {
  const response = (request.body as { response?: RegistrationResponseJSON }).response;
  const registered =
    response === undefined ? null : await flow.passkeys.register(state.userId ?? '', response, challenge, flow.now());
  if (registered === null) {
    await flow.audit(request, begun, {
      kind: 'mfa.enrol',
      reason: 'invalid_passkey',
      status: 400,
      userId: state.userId,
      role: state.role,
      details: { method: 'passkey' },
    });
    return refuse(reply, 400, 'The passkey could not be registered');
  }
  await flow.audit(request, begun, {
    kind: 'mfa.enrol',
    reason: 'ok',
    status: 200,
    userId: state.userId,
    role: state.role,
    details: { method: 'passkey' },
  });
  return reply
    .type('application/json; charset=utf-8')
    .send({ redirectTo: await enrolled(flow, state, registered.method) });
}

async function postVerify(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ceremony = await beginCeremony(flow, request, reply);
  if (ceremony === undefined) return reply;
  const { begun, purpose, state } = ceremony;
  const challenge = state.challenge;
  // One challenge, one answer (W3C WebAuthn §13.4.3): it is spent before the answer is checked.
  state.challenge = null;
  await flow.states.save(state);
  if (challenge?.purpose !== purpose) return refuse(reply, 400, 'Start the passkey step again');
  return purpose === 'register'
    ? verifyRegistration(flow, request, reply, begun, state, challenge.value)
    : verifyLogin(flow, request, reply, begun, state, challenge.value);
}

/** POST …/passkey/options and …/passkey/verify (JSON). */
export function registerPasskeyStep(app: FastifyInstance, flow: LoginFlow): void {
  // Options only hand out a challenge (no secret is checked): the `default` bucket; the answer is an authentication attempt.
  app.post(
    '/interaction/:uid/passkey/options',
    { config: { access: 'public', rateLimit: 'default' } },
    (request, reply) => postOptions(flow, request, reply),
  );
  app.post('/interaction/:uid/passkey/verify', { config: { access: 'public', rateLimit: 'auth' } }, (request, reply) =>
    postVerify(flow, request, reply),
  );
}
