import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../../lib/random.js';

/**
 * The cookie that binds a login to one browser. `__Host-` (RFC 6265bis
 * §4.1.3.2): Secure, Path=/, no Domain, so no sibling host can set or read
 * it; HttpOnly; SameSite=Lax so a cross-site POST never carries it.
 */
export const browserCookieName = '__Host-caduceus-login';

const cookiePattern = /^[A-Za-z0-9_-]{43}$/;

/**
 * Reads one cookie from the Cookie header (RFC 6265 §5.4). Hand-written
 * because only this one opaque, strictly-patterned cookie is ever read: no
 * cookie plugin is installed for it.
 */
export function readBrowserCookie(request: FastifyRequest): string | null {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === browserCookieName && value !== undefined && cookiePattern.test(value)) return value;
  }
  return null;
}

/** The browser's secret: the cookie it sent, or a new one set on this response. */
export function ensureBrowserCookie(request: FastifyRequest, reply: FastifyReply): string {
  const existing = readBrowserCookie(request);
  if (existing !== null) return existing;
  const secret = randomBytes(32).toString('base64url');
  reply.header('set-cookie', `${browserCookieName}=${secret}; Path=/; Secure; HttpOnly; SameSite=Lax`);
  return secret;
}

/** What the server keeps of the browser secret: its hash, never the secret. */
export function browserFingerprint(secret: string): string {
  return createHash('sha256').update(`caduceus-browser:${secret}`).digest('base64url');
}

/**
 * The CSRF token of one interaction in one browser (OWASP CSRF Prevention
 * Cheat Sheet, "signed double-submit cookie"): HMAC-SHA-256 keyed by the
 * browser's HttpOnly cookie over the interaction uid. A page of another
 * site can neither read the cookie nor the token, and a token of the
 * attacker's own interaction does not match the victim's cookie.
 */
export function csrfToken(browserSecret: string, uid: string): string {
  return createHmac('sha256', browserSecret).update(`csrf:${uid}`).digest('base64url');
}

/** Constant-time check of a submitted token against the browser's cookie. */
export function csrfValid(request: FastifyRequest, uid: string, submitted: unknown): boolean {
  const secret = readBrowserCookie(request);
  if (secret === null || typeof submitted !== 'string' || submitted.length > 128) return false;
  return constantTimeEqual(submitted, csrfToken(secret, uid));
}
