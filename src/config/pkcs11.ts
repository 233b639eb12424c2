import path from 'node:path';
import { ConfigError, type Env } from './readers.js';

/** Where the PKCS#11 HSM is and how to log in to it (docs/hsm.md). */
export interface Pkcs11Config {
  /** Absolute path of the vendor's PKCS#11 module (.so). */
  readonly modulePath: string;
  /** Label of the token holding the key-encryption keys. */
  readonly tokenLabel: string;
  /** The user PIN's file (preferred), or the PIN itself. */
  readonly pin: { readonly file: string } | { readonly value: string };
}

const names = [
  'CADUCEUS_PKCS11_MODULE',
  'CADUCEUS_PKCS11_TOKEN_LABEL',
  'CADUCEUS_PKCS11_PIN_FILE',
  'CADUCEUS_PKCS11_PIN',
] as const;
/** CK_TOKEN_INFO.label is 32 bytes (PKCS#11 v2.40 §3.2); a longer label can never match. */
const maxLabelBytes = 32;
/** PKCS#11 leaves PIN length to the token; 255 is SoftHSM2's maximum. */
const maxPinLength = 255;

function set(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/**
 * Reads the PKCS#11 settings: null when none is set (another key manager is
 * in use), otherwise all of module, token label and one PIN source.
 */
export function loadPkcs11Config(env: Env, cwd: string): Pkcs11Config | null {
  if (names.every((name) => set(env, name) === undefined)) return null;
  const modulePath = set(env, 'CADUCEUS_PKCS11_MODULE');
  if (modulePath === undefined)
    throw new ConfigError(
      "CADUCEUS_PKCS11_MODULE must be set to the path of the HSM's PKCS#11 module when any CADUCEUS_PKCS11_ setting is",
    );
  const tokenLabel = set(env, 'CADUCEUS_PKCS11_TOKEN_LABEL');
  if (
    tokenLabel === undefined ||
    Buffer.byteLength(tokenLabel, 'utf8') > maxLabelBytes ||
    tokenLabel !== tokenLabel.trim()
  ) {
    throw new ConfigError(
      `CADUCEUS_PKCS11_TOKEN_LABEL must be set to a token label of 1 to ${maxLabelBytes} bytes without leading or trailing spaces`,
    );
  }
  const pinFile = set(env, 'CADUCEUS_PKCS11_PIN_FILE');
  const pin = set(env, 'CADUCEUS_PKCS11_PIN');
  if (pinFile !== undefined && pin !== undefined)
    throw new ConfigError('CADUCEUS_PKCS11_PIN_FILE and CADUCEUS_PKCS11_PIN must not both be set (prefer the file)');
  if (pinFile !== undefined)
    return { modulePath: path.resolve(cwd, modulePath), tokenLabel, pin: { file: path.resolve(cwd, pinFile) } };
  if (pin === undefined)
    throw new ConfigError(
      'CADUCEUS_PKCS11_PIN_FILE (or CADUCEUS_PKCS11_PIN) must be set when CADUCEUS_PKCS11_MODULE is',
    );
  if (pin.length > maxPinLength || /[\r\n\0]/.test(pin))
    throw new ConfigError(`CADUCEUS_PKCS11_PIN must be 1 to ${maxPinLength} characters on one line`);
  return { modulePath: path.resolve(cwd, modulePath), tokenLabel, pin: { value: pin } };
}
