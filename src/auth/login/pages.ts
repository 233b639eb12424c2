import { html, type SafeHtml } from '../../lib/html.js';

/**
 * The server-rendered login and MFA pages. No inline script or style
 * anywhere (CSP `default-src 'self'`): the stylesheet and the passkey script
 * are files under /assets/login/. Every value goes through the `html` tag.
 */

/** What every form page needs: its interaction, its CSRF token, the idle timeout for the automatic logoff. */
export interface PageContext {
  readonly uid: string;
  readonly csrf: string;
  readonly idleSeconds: number;
}

/** The CSP of the pages: `default-src 'self'`, plus `script-src 'self'` where the passkey script runs. */
export function pageCsp(withScript: boolean): string {
  return `default-src 'self'; base-uri 'none'; frame-ancestors 'none'${withScript ? "; script-src 'self'" : ''}`;
}

/** Interaction paths, one place. */
export const paths = {
  start: (uid: string) => `/interaction/${encodeURIComponent(uid)}`,
  step: (uid: string, step: string) => `/interaction/${encodeURIComponent(uid)}/${step}`,
} as const;

function layout(
  title: string,
  body: SafeHtml,
  options: { readonly context?: PageContext; readonly script?: boolean } = {},
): string {
  const { context } = options;
  // Automatic logoff without script: after the idle timeout the page moves itself to the timeout page.
  const refresh =
    context === undefined
      ? ''
      : html`<meta http-equiv="refresh" content="${context.idleSeconds};url=${paths.step(context.uid, 'timeout')}">`;
  const scripts =
    options.script === true
      ? html`<script src="/assets/login/simplewebauthn-browser.js" defer></script><script src="/assets/login/passkey.js" defer></script>`
      : '';
  return `<!DOCTYPE html>\n${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">${refresh}<title>${title} · Caduceus</title><link rel="stylesheet" href="/assets/login/login.css">${scripts}</head>
<body><main><h1>${title}</h1>${body}</main></body></html>`.toString()}\n`;
}

function alert(message: string | undefined): SafeHtml {
  return message === undefined ? html`` : html`<p class="alert" role="alert">${message}</p>`;
}

function csrfField(context: PageContext): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${context.csrf}">`;
}

/** A passkey button, hidden until passkey.js finds WebAuthn in the browser (progressive enhancement). */
function passkeyButton(context: PageContext, purpose: 'login' | 'register', label: string): SafeHtml {
  return html`<p class="passkey"><button type="button" class="passkey-button" hidden data-purpose="${purpose}" data-uid="${context.uid}" data-csrf="${context.csrf}">${label}</button>
<span class="passkey-status" role="status"></span></p>`;
}

/** Username and password; a passkey may replace both. */
export function loginPage(
  context: PageContext,
  options: { readonly clientName: string | null; readonly error?: string; readonly username?: string },
): string {
  const body = html`${options.clientName === null ? '' : html`<p>Sign in to continue to ${options.clientName}.</p>`}${alert(options.error)}
<form method="post" action="${paths.step(context.uid, 'login')}">${csrfField(context)}
<label for="username">Username</label><input id="username" name="username" autocomplete="username webauthn" required maxlength="128" value="${options.username ?? ''}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Sign in</button></form>
${passkeyButton(context, 'login', 'Sign in with a passkey')}`;
  return layout('Sign in', body, { context, script: true });
}

/** The second-factor step: a TOTP code, a passkey, or a recovery code. */
export function mfaPage(
  context: PageContext,
  options: { readonly totp: boolean; readonly passkey: boolean; readonly error?: string },
): string {
  const totp = options.totp
    ? html`<form method="post" action="${paths.step(context.uid, 'mfa/totp')}">${csrfField(context)}
<label for="code">Code from your authenticator app</label><input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required maxlength="6">
<button type="submit">Verify</button></form>`
    : '';
  const passkey = options.passkey ? passkeyButton(context, 'login', 'Use your passkey') : '';
  const body = html`${alert(options.error)}${totp}${passkey}<p><a href="${paths.step(context.uid, 'mfa/recovery')}">Use a recovery code</a></p>`;
  return layout('Second factor', body, { context, script: options.passkey });
}

/** One recovery code instead of the second factor. */
export function recoveryPage(context: PageContext, error?: string): string {
  const body = html`${alert(error)}<form method="post" action="${paths.step(context.uid, 'mfa/recovery')}">${csrfField(context)}
<label for="code">Recovery code</label><input id="code" name="code" autocomplete="off" required maxlength="64">
<button type="submit">Verify</button></form><p><a href="${paths.step(context.uid, 'mfa')}">Back</a></p>`;
  return layout('Recovery code', body, { context });
}

/** TOTP enrolment: the QR code (inline SVG), the seed as text for manual entry, and the confirming code; or a passkey. */
export function enrolPage(
  context: PageContext,
  options: { readonly qrSvg: SafeHtml; readonly secret: string; readonly error?: string },
): string {
  const grouped = options.secret.replace(/(.{4})/g, '$1 ').trim();
  const body = html`<p>Your role requires a second factor. Scan this code with an authenticator app, or type the key, then enter the code it shows.</p>
${alert(options.error)}<figure class="qr">${options.qrSvg}<figcaption>Key: <code class="secret">${grouped}</code></figcaption></figure>
<form method="post" action="${paths.step(context.uid, 'enrol/totp')}">${csrfField(context)}
<label for="code">Code from your authenticator app</label><input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required maxlength="6">
<button type="submit">Confirm</button></form>
${passkeyButton(context, 'register', 'Or create a passkey')}`;
  return layout('Set up a second factor', body, { context, script: true });
}

/** The new recovery codes, shown once, then a form that finishes the login. */
export function recoveryCodesPage(context: PageContext, codes: readonly string[] | null): string {
  const list =
    codes === null
      ? html`<p>Your recovery codes were shown already. If you did not keep them, an administrator can reset your second factor.</p>`
      : html`<p>Keep these recovery codes somewhere safe. Each works once, if you lose your authenticator. They will not be shown again.</p>
<ol class="codes">${codes.map((code) => html`<li><code>${code}</code></li>`)}</ol>`;
  const body = html`${list}<form method="post" action="${paths.step(context.uid, 'continue')}">${csrfField(context)}<button type="submit">Continue</button></form>`;
  return layout('Recovery codes', body, { context });
}

/** A page without a form: expired, timed out, refused. */
export function messagePage(title: string, text: string): string {
  return layout(title, html`<p>${text}</p>`);
}
