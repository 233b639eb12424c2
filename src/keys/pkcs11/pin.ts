import { readFile } from 'node:fs/promises';
import { HsmError } from './errors.js';

/** Where the token's user PIN comes from: a file (preferred: not in the environment of every child process) or a value. */
export type Pkcs11Pin = { readonly file: string } | { readonly value: string };

/** PKCS#11 leaves PIN length to the token; 255 is SoftHSM2's maximum and above any HSM's we know. */
const maxPinLength = 255;

/** Resolves the PIN; errors name the setting, never the PIN or the file's content. */
export async function readPin(pin: Pkcs11Pin): Promise<string> {
  if ('value' in pin) return pin.value;
  let text: string;
  try {
    text = await readFile(pin.file, 'utf8');
  } catch {
    throw new HsmError('configuration', 'CADUCEUS_PKCS11_PIN_FILE: the file cannot be read');
  }
  // Files written by `echo` or an editor end with a newline that is not part of the PIN.
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0 || value.length > maxPinLength || /[\r\n\0]/.test(value)) {
    throw new HsmError(
      'configuration',
      `CADUCEUS_PKCS11_PIN_FILE: the file must hold one PIN of 1 to ${maxPinLength} characters`,
    );
  }
  return value;
}
