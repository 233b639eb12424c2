/** The login and MFA pages (docs/login-and-mfa.md). */
export { registerLoginPages } from './plugin.js';
export type { LoginPagesOptions } from './flow.js';
export { usernameFingerprint } from './auth-events.js';
