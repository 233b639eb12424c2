import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PasswordHashingBusyError } from '../users/hashing-queue.js';
import type { LoginFailureReason, PasswordVerification } from '../../storage/user-ports.js';
import type { Begun, LoginFlow } from './flow.js';
import { csrfValid } from './browser-binding.js';
import { beginPost, field, uidOf } from './form.js';
import { loginPage, messagePage, paths } from './pages.js';

/** What the page says per reason: unknown user, wrong password and disabled account read the same (no enumeration). */
function failureText(reason: LoginFailureReason, retryAfterSeconds: number | undefined): string {
  switch (reason) {
    case 'locked':
    case 'ip_locked':
      return `Too many failed sign-ins. Try again in ${Math.max(1, Math.ceil((retryAfterSeconds ?? 60) / 60))} minute(s).`;
    case 'invalid_credentials':
    case 'disabled':
    case 'invalid_input':
      return 'The username or password is wrong.';
  }
}

/** Seconds to wait when the password-hashing queue shed this login (docs/users.md), else undefined. */
function busyRetryAfter(error: unknown): number | undefined {
  return error instanceof PasswordHashingBusyError ? error.retryAfterSeconds : undefined;
}

async function verify(
  flow: LoginFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  begun: Begun,
  username: string,
): Promise<PasswordVerification | undefined> {
  try {
    return await flow.options.users.verifyPassword({
      username,
      password: field(request, 'password'),
      sourceIp: request.ip,
    });
  } catch (error) {
    const retryAfter = busyRetryAfter(error);
    if (retryAfter === undefined) throw error;
    // Load shed by the hashing queue (docs/users.md): 503, the same form to retry.
    reply.header('retry-after', String(retryAfter));
    flow.page(
      reply,
      503,
      loginPage(begun.context, {
        clientName: begun.details.clientName,
        error: 'The service is busy. Try again in a moment.',
        username,
      }),
      true,
    );
    return undefined;
  }
}

/**
 * Sheds a login the hashing queue would refuse, before the interaction lookup,
 * lockout and audit writes (docs/users.md "The hashing queue"): under a
 * login burst a shed login must cost the event loop little more than its
 * TLS and parsing. Only after the CSRF check (one HMAC), so a forged post
 * still gets its 403; the form is re-rendered from the already-valid token.
 * The same for every username: nothing is looked up yet.
 */
function shedEarly(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply, username: string): boolean {
  const retryAfter = flow.options.users.passwordCheckBusy();
  if (retryAfter === undefined) return false;
  const csrf = field(request, 'csrf');
  if (!csrfValid(request, uidOf(request), csrf)) return false; // beginPost answers 403
  reply.header('retry-after', String(retryAfter));
  const context = { uid: uidOf(request), csrf, idleSeconds: flow.options.config.sessionIdleSeconds };
  flow.page(
    reply,
    503,
    loginPage(context, { clientName: null, error: 'The service is busy. Try again in a moment.', username }),
    true,
  );
  return true;
}

async function postLogin(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const username = field(request, 'username').slice(0, 256);
  if (shedEarly(flow, request, reply, username)) return reply;
  const begun = await beginPost(flow, request, reply, field(request, 'csrf'));
  if (begun === undefined) return reply;
  const result = await verify(flow, request, reply, begun, username);
  if (result === undefined) return reply;
  if (!result.ok) {
    const locked = result.reason === 'locked' || result.reason === 'ip_locked';
    const status = locked ? 429 : 401;
    await flow.audit(request, begun, {
      kind: 'login.password',
      reason: result.reason,
      status,
      userId: null,
      role: null,
      username,
    });
    if (locked) reply.header('retry-after', String(result.retryAfterSeconds ?? 60));
    return flow.page(
      reply,
      status,
      loginPage(begun.context, {
        clientName: begun.details.clientName,
        error: failureText(result.reason, result.retryAfterSeconds),
        username,
      }),
      true,
    );
  }
  const { user } = result;
  await flow.audit(request, begun, {
    kind: 'login.password',
    reason: 'ok',
    status: 303,
    userId: user.id,
    role: user.role,
  });
  const state = flow.states.fresh(begun.context.uid, begun.browser);
  state.userId = user.id;
  state.role = user.role;
  state.amr = ['pwd'];
  return flow.afterFirstFactor(request, reply, begun, state);
}

/** GET /interaction/:uid (the provider sends the browser here), POST …/login, GET …/timeout. */
export function registerPasswordStep(app: FastifyInstance, flow: LoginFlow): void {
  app.get('/interaction/:uid', { config: { access: 'public', rateLimit: 'default' } }, async (request, reply) => {
    const begun = await flow.begin(request, reply, uidOf(request));
    if (begun === undefined) return reply;
    // A browser that already passed the first factor continues where it was.
    const state = await flow.states.load(begun.context.uid, begun.browser);
    if (state !== undefined && state.userId !== null)
      return reply.redirect(paths.step(begun.context.uid, state.complete ? 'recovery-codes' : 'mfa'), 303);
    return flow.page(reply, 200, loginPage(begun.context, { clientName: begun.details.clientName }), true);
  });

  app.post('/interaction/:uid/login', { config: { access: 'public', rateLimit: 'auth' } }, (request, reply) =>
    postLogin(flow, request, reply),
  );

  // Where the pages' refresh lands after the idle timeout: the login state is gone (automatic logoff).
  app.get(
    '/interaction/:uid/timeout',
    { config: { access: 'public', rateLimit: 'default' } },
    async (request, reply) => {
      const begun = await flow.begin(request, reply, uidOf(request));
      if (begun === undefined) return reply;
      const state = await flow.states.load(begun.context.uid, begun.browser);
      await flow.states.remove(begun.context.uid);
      if (state !== undefined && state.userId !== null) {
        await flow.audit(request, begun, {
          kind: 'login.timeout',
          reason: 'idle',
          status: 200,
          userId: state.userId,
          role: state.role,
        });
      }
      return flow.page(
        reply,
        200,
        messagePage(
          'Signed out',
          'You were signed out after a period of inactivity. Go back to the application to sign in again.',
        ),
      );
    },
  );
}
