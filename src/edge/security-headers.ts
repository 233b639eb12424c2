/**
 * The seed's security headers, on every response, errors and 404s included.
 * X-XSS-Protection is kept at the seed's value although current browsers
 * ignore it (docs/security-headers.md explains setting it to `0`).
 */
export const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'content-security-policy': "default-src 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-xss-protection': '1; mode=block',
  'cache-control': 'no-store',
});
