import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyValueStore } from '../../storage/ports.js';
import type { AuthEventKind } from './auth-events.js';
import { maxMfaFailures, type Begun, type LoginFlow } from './flow.js';
import { beginPost, field, uidOf } from './form.js';
import type { LoginState } from './login-state.js';
import { messagePage, mfaPage, paths, recoveryPage } from './pages.js';

/** Wrong second-factor codes one account may send, across interactions, within the window below. */
const maxUserMfaFailures = 10;
const userFailureWindowMs = 15 * 60_000;

/** The state of a browser that passed its first factor and still owes a second one; otherwise back to the start. */
export async function pendingState(
  flow: LoginFlow,
  reply: FastifyReply,
  begun: Begun,
): Promise<LoginState | undefined> {
  const state = await flow.states.load(begun.context.uid, begun.browser);
  if (state?.userId == null || state.complete) {
    await reply.redirect(paths.start(begun.context.uid), 303);
    return undefined;
  }
  return state;
}

/**
 * Counts a wrong code for this interaction and for the account (so starting
 * new interactions does not buy more guesses); true when either limit is
 * reached, and the interaction then ends.
 */
async function countFailure(kv: KeyValueStore, flow: LoginFlow, state: LoginState): Promise<boolean> {
  state.mfaFailures += 1;
  const key = `mfa-failures:${state.userId ?? ''}`;
  const count = Number((await kv.get(key)) ?? '0') + 1;
  await kv.set(key, String(count), userFailureWindowMs);
  const exhausted = state.mfaFailures >= maxMfaFailures || count >= maxUserMfaFailures;
  if (exhausted) await flow.states.remove(state.uid);
  else await flow.states.save(state);
  return exhausted;
}

/** True while the account is over its wrong-code limit. */
async function accountLocked(kv: KeyValueStore, userId: string): Promise<boolean> {
  return Number((await kv.get(`mfa-failures:${userId}`)) ?? '0') >= maxUserMfaFailures;
}

/** Answers a wrong code: the same page with the error (401), or the lockout page (429) once the limits are reached. */
export async function refuseCode(
  flow: LoginFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  begun: Begun,
  state: LoginState,
  failure: {
    readonly kind: AuthEventKind;
    readonly reason: string;
    readonly method: string;
    readonly page: (error: string) => string;
    readonly withScript?: boolean;
  },
): Promise<FastifyReply> {
  const exhausted = await countFailure(flow.options.kv, flow, state);
  await flow.audit(request, begun, {
    kind: failure.kind,
    reason: exhausted ? 'mfa_locked' : failure.reason,
    status: exhausted ? 429 : 401,
    userId: state.userId,
    role: state.role,
    details: { method: failure.method },
  });
  if (exhausted) {
    return flow.page(
      reply,
      429,
      messagePage(
        'Too many attempts',
        'Too many wrong codes. Wait a few minutes, then go back to the application and sign in again.',
      ),
    );
  }
  const text =
    failure.reason === 'replayed_code' ? 'That code was used already. Wait for the next one.' : 'The code is wrong.';
  return flow.page(reply, 401, failure.page(text), failure.withScript === true);
}

async function postTotp(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const begun = await beginPost(flow, request, reply, field(request, 'csrf'));
  if (begun === undefined) return reply;
  const state = await pendingState(flow, reply, begun);
  if (state === undefined) return reply;
  const userId = state.userId ?? '';
  const summary = await flow.totp.summary(userId);
  const page = (error: string): string =>
    mfaPage(begun.context, { totp: summary.totp, passkey: summary.passkey, error });
  if (await accountLocked(flow.options.kv, userId)) {
    return refuseCode(flow, request, reply, begun, state, {
      kind: 'mfa.verify',
      reason: 'mfa_locked',
      method: 'totp',
      page,
      withScript: summary.passkey,
    });
  }
  const check = await flow.totp.verifyTotp(userId, field(request, 'code').trim(), flow.now());
  if (check !== 'ok') {
    return refuseCode(flow, request, reply, begun, state, {
      kind: 'mfa.verify',
      reason: check === 'replayed' ? 'replayed_code' : 'invalid_code',
      method: 'totp',
      page,
      withScript: summary.passkey,
    });
  }
  await flow.audit(request, begun, {
    kind: 'mfa.verify',
    reason: 'ok',
    status: 303,
    userId,
    role: state.role,
    details: { method: 'totp' },
  });
  state.amr.push('otp');
  state.complete = true;
  return flow.finish(request, reply, begun, state);
}

async function postRecovery(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const begun = await beginPost(flow, request, reply, field(request, 'csrf'));
  if (begun === undefined) return reply;
  const state = await pendingState(flow, reply, begun);
  if (state === undefined) return reply;
  const userId = state.userId ?? '';
  const page = (error: string): string => recoveryPage(begun.context, error);
  const used =
    !(await accountLocked(flow.options.kv, userId)) &&
    (await flow.totp.useRecoveryCode(userId, field(request, 'code')));
  if (!used)
    return refuseCode(flow, request, reply, begun, state, {
      kind: 'mfa.recovery_code',
      reason: 'invalid_code',
      method: 'recovery_code',
      page,
    });
  const remaining = await flow.options.factors.countRecoveryCodes(userId);
  await flow.audit(request, begun, {
    kind: 'mfa.recovery_code',
    reason: 'ok',
    status: 303,
    userId,
    role: state.role,
    details: { method: 'recovery_code', remaining },
  });
  // A one-time code from a list the user holds: RFC 8176 `otp`.
  state.amr.push('otp');
  state.complete = true;
  return flow.finish(request, reply, begun, state);
}

/** GET/POST …/mfa (TOTP and passkey choice) and …/mfa/recovery. */
export function registerMfaStep(app: FastifyInstance, flow: LoginFlow): void {
  app.get('/interaction/:uid/mfa', { config: { access: 'public', rateLimit: 'default' } }, async (request, reply) => {
    const begun = await flow.begin(request, reply, uidOf(request));
    if (begun === undefined) return reply;
    const state = await pendingState(flow, reply, begun);
    if (state === undefined) return reply;
    const summary = await flow.totp.summary(state.userId ?? '');
    if (!summary.totp && !summary.passkey) return reply.redirect(paths.step(begun.context.uid, 'enrol'), 303);
    await flow.states.save(state);
    return flow.page(
      reply,
      200,
      mfaPage(begun.context, { totp: summary.totp, passkey: summary.passkey }),
      summary.passkey,
    );
  });
  app.post('/interaction/:uid/mfa/totp', { config: { access: 'public', rateLimit: 'auth' } }, (request, reply) =>
    postTotp(flow, request, reply),
  );
  app.get(
    '/interaction/:uid/mfa/recovery',
    { config: { access: 'public', rateLimit: 'default' } },
    async (request, reply) => {
      const begun = await flow.begin(request, reply, uidOf(request));
      if (begun === undefined) return reply;
      if ((await pendingState(flow, reply, begun)) === undefined) return reply;
      return flow.page(reply, 200, recoveryPage(begun.context));
    },
  );
  app.post('/interaction/:uid/mfa/recovery', { config: { access: 'public', rateLimit: 'auth' } }, (request, reply) =>
    postRecovery(flow, request, reply),
  );
}
