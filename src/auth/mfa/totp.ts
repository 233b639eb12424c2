import { Secret, TOTP } from 'otpauth';
import type { KeyValueStore } from '../../storage/ports.js';

/** RFC 6238 parameters every authenticator app understands: HMAC-SHA-1, 6 digits, 30 s steps (RFC 6238 §4, §5.2). */
const period = 30;
const digits = 6;
/** One step either side (RFC 6238 §5.2 "at most one time step" of network delay and clock drift). */
const window = 1;

/** A new random seed: 160 bits, the HMAC-SHA-1 output size RFC 4226 §4 recommends. Base32 (RFC 4648) as apps expect it. */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpFor(secretBase32: string, label = 'user'): TOTP {
  return new TOTP({
    issuer: 'Caduceus',
    label,
    algorithm: 'SHA1',
    digits,
    period,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** The `otpauth://` URI an authenticator app scans (Key Uri Format). */
export function totpUri(secretBase32: string, label: string): string {
  return totpFor(secretBase32, label).toString();
}

/** Outcome of one code check. */
export type TotpCheck = 'ok' | 'invalid' | 'replayed';

/**
 * Checks a code, then spends it: RFC 6238 §5.2 "the verifier MUST NOT accept
 * the second attempt of the OTP after the successful validation has been
 * issued for the first OTP". The time step the code matched is claimed in
 * the key-value store with an atomic set-if-absent, so two processes (one
 * PostgreSQL) cannot both accept it either.
 */
export async function checkTotp(
  kv: KeyValueStore,
  replayKey: string,
  secretBase32: string,
  code: string,
  now = Date.now(),
): Promise<TotpCheck> {
  if (!/^\d{6}$/.test(code)) return 'invalid';
  const totp = totpFor(secretBase32);
  const delta = totp.validate({ token: code, timestamp: now, window });
  if (delta === null) return 'invalid';
  const step = totp.counter({ timestamp: now }) + delta;
  // Kept until the step can no longer match under any window.
  const claimed = await kv.setIfAbsent(`totp-used:${replayKey}:${step}`, '1', (2 * window + 2) * period * 1000);
  return claimed ? 'ok' : 'replayed';
}
