import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { trustedSvg } from '../../lib/html.js';
import { openFactorSecret, sealFactorSecret } from '../mfa/factor-seal.js';
import { generateTotpSecret, totpUri } from '../mfa/totp.js';
import type { Begun, LoginFlow } from './flow.js';
import { beginPost, field, uidOf } from './form.js';
import type { LoginState } from './login-state.js';
import { pendingState, refuseCode } from './mfa-step.js';
import { enrolPage, messagePage, paths, recoveryCodesPage } from './pages.js';

/**
 * Enrolment is only for a user without any factor: someone who knows the
 * password alone must not be able to add a factor and so skip the one the
 * user already has (`caduceus user reset-mfa` is the way back).
 */
export async function enrolmentState(
  flow: LoginFlow,
  reply: FastifyReply,
  begun: Begun,
): Promise<LoginState | undefined> {
  const state = await pendingState(flow, reply, begun);
  if (state === undefined) return undefined;
  const summary = await flow.totp.summary(state.userId ?? '');
  if (summary.totp || summary.passkey) {
    await reply.redirect(paths.step(begun.context.uid, 'mfa'), 303);
    return undefined;
  }
  return state;
}

/** The seed being enrolled: kept sealed in the login state, bound to the user and this interaction. */
async function pendingSecret(flow: LoginFlow, state: LoginState): Promise<string> {
  const userId = state.userId ?? '';
  const slot = `pending:${state.uid}`;
  if (state.pendingTotp !== null) {
    const value = await openFactorSecret(
      flow.options.sealer,
      userId,
      slot,
      Buffer.from(state.pendingTotp, 'base64url'),
    );
    if (typeof value === 'string') return value;
  }
  const secret = generateTotpSecret();
  state.pendingTotp = Buffer.from(await sealFactorSecret(flow.options.sealer, userId, slot, secret)).toString(
    'base64url',
  );
  await flow.states.save(state);
  return secret;
}

async function renderEnrol(flow: LoginFlow, begun: Begun, state: LoginState, error?: string): Promise<string> {
  const secret = await pendingSecret(flow, state);
  const user = await flow.options.users.findActiveUser(state.userId ?? '');
  // The QR code as inline SVG (no image request, no script): drawn by `qrcode` from the otpauth:// URI.
  const svg = await QRCode.toString(totpUri(secret, user?.username ?? 'user'), {
    type: 'svg',
    margin: 2,
    errorCorrectionLevel: 'M',
  });
  return enrolPage(begun.context, { qrSvg: trustedSvg(svg), secret, ...(error !== undefined && { error }) });
}

async function postEnrolTotp(flow: LoginFlow, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const begun = await beginPost(flow, request, reply, field(request, 'csrf'));
  if (begun === undefined) return reply;
  const state = await enrolmentState(flow, reply, begun);
  if (state === undefined) return reply;
  const secret = await pendingSecret(flow, state);
  const check = await flow.totp.enrolTotp(state.userId ?? '', secret, field(request, 'code').trim(), flow.now());
  if (check !== 'ok') {
    const page = await renderEnrol(
      flow,
      begun,
      state,
      'The code is wrong. Check the time on your device and try the next code.',
    );
    return refuseCode(flow, request, reply, begun, state, {
      kind: 'mfa.enrol',
      reason: check === 'replayed' ? 'replayed_code' : 'invalid_code',
      method: 'totp',
      page: () => page,
      withScript: true,
    });
  }
  await flow.audit(request, begun, {
    kind: 'mfa.enrol',
    reason: 'ok',
    status: 303,
    userId: state.userId,
    role: state.role,
    details: { method: 'totp' },
  });
  return reply.redirect(await enrolled(flow, state, 'otp'), 303);
}

/** After a first enrolment: the factor counts for this login, and the recovery codes are due; returns where to go next. */
export async function enrolled(flow: LoginFlow, state: LoginState, method: 'otp' | 'hwk' | 'swk'): Promise<string> {
  state.amr.push(method);
  state.complete = true;
  state.pendingTotp = null;
  state.challenge = null;
  state.recoveryCodesDue = true;
  await flow.states.save(state);
  return paths.step(state.uid, 'recovery-codes');
}

async function completedState(flow: LoginFlow, reply: FastifyReply, begun: Begun): Promise<LoginState | undefined> {
  const state = await flow.states.load(begun.context.uid, begun.browser);
  if (state?.userId == null || !state.complete) {
    await reply.redirect(paths.start(begun.context.uid), 303);
    return undefined;
  }
  return state;
}

/** GET/POST …/enrol, POST …/enrol/totp, GET …/recovery-codes, POST …/continue. */
export function registerEnrolStep(app: FastifyInstance, flow: LoginFlow): void {
  app.get('/interaction/:uid/enrol', { config: { access: 'public', rateLimit: 'default' } }, async (request, reply) => {
    const begun = await flow.begin(request, reply, uidOf(request));
    if (begun === undefined) return reply;
    const state = await enrolmentState(flow, reply, begun);
    if (state === undefined) return reply;
    return flow.page(reply, 200, await renderEnrol(flow, begun, state), true);
  });
  app.post('/interaction/:uid/enrol/totp', { config: { access: 'public', rateLimit: 'auth' } }, (request, reply) =>
    postEnrolTotp(flow, request, reply),
  );

  // Shown once: the codes are made when this page is first served after an enrolment, and only their hashes are kept.
  app.get(
    '/interaction/:uid/recovery-codes',
    { config: { access: 'public', rateLimit: 'default' } },
    async (request, reply) => {
      const begun = await flow.begin(request, reply, uidOf(request));
      if (begun === undefined) return reply;
      const state = await completedState(flow, reply, begun);
      if (state === undefined) return reply;
      let codes: string[] | null = null;
      if (state.recoveryCodesDue) {
        state.recoveryCodesDue = false;
        await flow.states.save(state);
        codes = await flow.totp.issueRecoveryCodes(state.userId ?? '', flow.now());
      }
      return flow.page(reply, 200, recoveryCodesPage(begun.context, codes));
    },
  );

  app.post(
    '/interaction/:uid/continue',
    { config: { access: 'public', rateLimit: 'auth' } },
    async (request, reply) => {
      const begun = await beginPost(flow, request, reply, field(request, 'csrf'));
      if (begun === undefined) return reply;
      const state = await completedState(flow, reply, begun);
      if (state === undefined) return reply;
      if (state.recoveryCodesDue)
        return flow.page(reply, 409, messagePage('Recovery codes', 'Open the recovery codes page first.'));
      return flow.finish(request, reply, begun, state);
    },
  );
}
