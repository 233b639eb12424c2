/**
 * The few HTML pages oidc-provider itself renders (an error it cannot
 * redirect, the logout confirmation). No script, no inline style, so the
 * `default-src 'self'` CSP of src/edge/security-headers.ts holds; nothing
 * the client sent is echoed except the RFC 6749 error code, escaped by the
 * shared `html` tag of src/lib/html.ts.
 */
import { html, type SafeHtml } from '../../lib/html.js';

/**
 * A whole page. `body` is built by the `html` tag (every value escaped);
 * `libraryMarkup` is oidc-provider's own markup, never text from the request,
 * appended as it is.
 */
function page(title: string, body: SafeHtml, libraryMarkup = ''): string {
  return `${html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}`.toString()}${libraryMarkup}</body></html>`;
}

/** RFC 6749 error codes are `[\x20-\x21\x23-\x5B\x5D-\x7E]+`; anything else is shown as a generic failure. */
function safeErrorCode(value: unknown): string {
  return typeof value === 'string' && /^[a-z_]{1,64}$/.test(value) ? value : 'server_error';
}

/** The page for an authorization error that cannot be sent to the client (unknown client, bad redirect_uri). */
export function errorPage(error: unknown): string {
  return page(
    'Sign-in error',
    html`<h1>Sign-in could not continue</h1><p>Error: <code>${safeErrorCode(error)}</code></p><p>Return to the application and start again.</p>`,
  );
}

/**
 * The RP-initiated logout confirmation. `form` is oidc-provider's hidden form
 * with its CSRF token; the button names it by id (HTML `form` attribute), so
 * the form can follow it.
 */
export function logoutPage(form: string): string {
  return page(
    'Sign out',
    html`<h1>Sign out?</h1><button form="op.logoutForm" type="submit" name="logout" value="yes">Sign out</button>`,
    form,
  );
}

/** Shown after a logout without a post_logout_redirect_uri. */
export function loggedOutPage(): string {
  return page('Signed out', html`<h1>You are signed out</h1>`);
}
