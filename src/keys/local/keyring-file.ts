/**
 * The keyring file on disk: permission-checked reads, crash-safe writes
 * (temp file + fsync + rename/link + directory fsync) and a lock file for
 * read-modify-write, so the server and the CLI can share one keyring.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyringError, parseKeyringDocument, type KeyringDocument } from './keyring.js';

/** Enough of a file's identity to notice that another process replaced it. */
export interface FileIdentity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A keyring document and the identity of the file it was read from. */
export interface KeyringFileContents {
  readonly document: KeyringDocument;
  readonly identity: FileIdentity;
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Reads the keyring, or undefined when there is none. Refuses a file that
 * group or others can access: it holds private keys in clear (HIPAA
 * 164.312(a)(1) access control). The mode is taken from the open handle, so
 * the checked file is the file read.
 */
export async function readKeyringFile(file: string): Promise<KeyringFileContents | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new KeyringError('The keyring path is not a regular file');
    if ((stats.mode & 0o077) !== 0) {
      throw new KeyringError('The keyring file is accessible to group or others; restrict it to its owner (chmod 600)');
    }
    const text = await handle.readFile({ encoding: 'utf8' });
    return { document: parseKeyringDocument(text), identity: { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs } };
  } finally {
    await handle.close();
  }
}

/** The identity of the file now at the path, or undefined when it is gone. */
export async function keyringFileIdentity(file: string): Promise<FileIdentity | undefined> {
  try {
    const stats = await stat(file);
    return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  // The rename/link is durable only once the directory entry is (POSIX fsync).
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeTempFile(file: string, document: KeyringDocument): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  // 'wx' + 0600: created fresh and owner-only from the first byte (umask can only narrow it).
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, { encoding: 'utf8' });
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return temp;
}

/**
 * Creates the keyring only if no file exists yet: the complete temp file is
 * hard-linked to the final name, which fails with EEXIST when another process
 * won the race. Returns false in that case; the caller then reads the winner's.
 */
export async function createKeyringFile(file: string, document: KeyringDocument): Promise<boolean> {
  const temp = await writeTempFile(file, document);
  try {
    await link(temp, file);
  } catch (error) {
    if (hasCode(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(path.dirname(file));
  return true;
}

/** Atomically replaces the keyring: readers see the old file or the new one, never a mix. */
export async function replaceKeyringFile(file: string, document: KeyringDocument): Promise<void> {
  const temp = await writeTempFile(file, document);
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(path.dirname(file));
}

/** How long to wait for the lock, and when a lock is old enough to be a crashed holder's. */
export interface LockOptions {
  readonly timeoutMs: number;
  readonly staleMs: number;
}

async function removeIfStale(lock: string, staleMs: number): Promise<void> {
  const identity = await keyringFileIdentity(lock);
  if (identity !== undefined && Date.now() - identity.mtimeMs > staleMs) await unlink(lock).catch(() => undefined);
}

/**
 * Runs `action` holding `<file>.lock` (created with 'wx', so exactly one
 * holder), for read-modify-write of the keyring by several processes.
 */
export async function withKeyringLock<T>(file: string, options: LockOptions, action: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + options.timeoutMs;
  for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 100)) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.close();
      break;
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
      if (Date.now() > deadline) throw new KeyringError('Timed out waiting for the keyring lock');
      await removeIfStale(lock, options.staleMs);
      await sleep(delayMs);
    }
  }
  try {
    return await action();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}
