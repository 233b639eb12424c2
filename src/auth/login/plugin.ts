import type { FastifyInstance } from 'fastify';
import { registerLoginAssets } from './assets.js';
import { registerEnrolStep } from './enrol-step.js';
import { createLoginFlow, type LoginPagesOptions } from './flow.js';
import { addFormParser } from './form.js';
import { registerMfaStep } from './mfa-step.js';
import { registerPasskeyStep } from './passkey-step.js';
import { registerPasswordStep } from './password-step.js';

/**
 * The login and MFA pages (docs/login-and-mfa.md) under
 * /interaction/:uid, where the authorization server sends the browser.
 * Registered in their own encapsulated context so the form parser stays
 * theirs; the edge, rate-limit and error layers of the app still apply.
 */
export async function registerLoginPages(app: FastifyInstance, options: LoginPagesOptions): Promise<void> {
  await app.register((scope, _opts, done) => {
    addFormParser(scope);
    const flow = createLoginFlow(options);
    registerLoginAssets(scope);
    registerPasswordStep(scope, flow);
    registerMfaStep(scope, flow);
    registerEnrolStep(scope, flow);
    registerPasskeyStep(scope, flow);
    done();
  });
}
