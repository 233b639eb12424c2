/**
 * Certificate-bound access tokens (RFC 8705 §3): a token carrying
 * `cnf.x5t#S256` is only good on a connection whose client certificate has
 * that thumbprint, so a stolen device token is useless without the device's
 * private key.
 */
import { timingSafeEqual } from 'node:crypto';
import type { PresentedCertificate } from '../lib/certificate-thumbprint.js';
import type { Principal } from '../http/principal.js';
import { TokenError } from './token-error.js';

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
