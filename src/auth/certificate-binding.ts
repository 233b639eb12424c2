/**
 * Certificate-bound access tokens (RFC 8705 §3): a token carrying
 * `cnf.x5t#S256` is only good on a connection whose client certificate has
 * that thumbprint, so a stolen device token is useless without the device's
 * private key.
 */
import { hash, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Principal } from './principal.js';
import { TokenError } from './token-error.js';

/** The client certificate a request presented: on its own TLS connection, or forwarded by a trusted proxy (RFC 9440). */
export interface PresentedCertificate {
  /** RFC 8705 §3.1: base64url SHA-256 of the certificate's DER encoding. */
  readonly thumbprint: string;
  /** The DER certificate itself, for whoever must see more than the thumbprint (the authorization server binding the tokens it issues). */
  readonly der: Buffer;
  readonly source: 'tls' | 'proxy';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the edge's client-certificate step (src/edge/mtls/client-certificate.ts); null when none was presented. */
    clientCertificate: PresentedCertificate | null;
  }
}

/** RFC 8705 §3.1 `x5t#S256`: the base64url (unpadded) SHA-256 of the DER certificate. */
export function certificateThumbprint(der: Buffer): string {
  return hash('sha256', der, 'base64url');
}

/** The thumbprint of the first certificate in a PEM text; throws TypeError when there is none or it does not parse. */
export function thumbprintOfPem(pem: string | Buffer): string {
  return certificateThumbprint(new X509Certificate(pem).raw);
}

/** A well-formed `x5t#S256`: 32 bytes in unpadded base64url. */
export function isThumbprint(value: string): boolean {
  return /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(value);
}

function sameThumbprint(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * RFC 8705 §3: a bound token is refused (401 invalid_token) unless the
 * presented certificate has its thumbprint; a bound token with no
 * certificate at all (e.g. on the main listener) is refused too. Unbound
 * tokens pass whatever was presented.
 */
export function checkCertificateBinding(
  principal: Principal,
  presented: PresentedCertificate | null | undefined,
): void {
  const bound = principal.certificateThumbprint;
  if (bound === null) return;
  if (presented === null || presented === undefined) throw new TokenError('certificate_required');
  if (!sameThumbprint(bound, presented.thumbprint)) throw new TokenError('certificate_mismatch');
}
