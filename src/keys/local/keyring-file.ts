/**
 * The signing keyring on disk, sealed under the master key when one is given
 * (docs/key-management.md), in a crash-safe owner-only file (secret-file.ts)
 * shared by the server and the CLI.
 */
import { KeyringError, parseKeyringDocument, type KeyringDocument } from './keyring.js';
import { isSealedText, type MasterKey } from './master-key.js';
import {
  createSecretFile,
  fileIdentity,
  readSecretFile,
  replaceSecretFile,
  withFileLock,
  type FileIdentity,
  type LockOptions,
} from './secret-file.js';

export type { FileIdentity, LockOptions } from './secret-file.js';

/** The purpose a sealed signing keyring is bound to (its AAD). */
const sealPurpose = 'signing-keyring';

/** A keyring document, the identity of the file it was read from, and whether that file was sealed. */
export interface KeyringFileContents {
  readonly document: KeyringDocument;
  readonly identity: FileIdentity;
  readonly sealed: boolean;
}

function decode(text: string, masterKey: MasterKey | undefined): { document: KeyringDocument; sealed: boolean } {
  if (!isSealedText(text)) return { document: parseKeyringDocument(text), sealed: false };
  if (masterKey === undefined) throw new KeyringError('The keyring is sealed; opening it needs the master key');
  return { document: parseKeyringDocument(masterKey.open(sealPurpose, text)), sealed: true };
}

function encode(document: KeyringDocument, masterKey: MasterKey | undefined): string {
  const text = `${JSON.stringify(document, null, 2)}\n`;
  return masterKey === undefined ? text : masterKey.seal(sealPurpose, text);
}

/**
 * Reads the keyring, or undefined when there is none. A plaintext keyring is
 * read either way (the caller then seals it once); a sealed one needs the
 * master key. Refuses a file that group or others can access.
 */
export async function readKeyringFile(file: string, masterKey?: MasterKey): Promise<KeyringFileContents | undefined> {
  const contents = await readSecretFile(file, 'The keyring file');
  if (contents === undefined) return undefined;
  return { ...decode(contents.text, masterKey), identity: contents.identity };
}

/** The identity of the file now at the path, or undefined when it is gone. */
export const keyringFileIdentity = fileIdentity;

/** Creates the keyring only if no file exists yet; false when another process won the race. */
export function createKeyringFile(file: string, document: KeyringDocument, masterKey?: MasterKey): Promise<boolean> {
  return createSecretFile(file, encode(document, masterKey));
}

/** Atomically replaces the keyring, sealed when a master key is given. */
export function replaceKeyringFile(file: string, document: KeyringDocument, masterKey?: MasterKey): Promise<void> {
  return replaceSecretFile(file, encode(document, masterKey));
}

/** Runs `action` holding the keyring's lock file. */
export const withKeyringLock: <T>(file: string, options: LockOptions, action: () => Promise<T>) => Promise<T> =
  withFileLock;
