/**
 * Owner-only files of secrets (keyrings, the development master key):
 * permission-checked reads, crash-safe writes (temp file + fsync +
 * rename/link + directory fsync) and a lock file for read-modify-write, so
 * the server and the CLI can share one file.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyringError } from './keyring.js';

/** Enough of a file's identity to notice that another process replaced it. */
export interface FileIdentity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A file's text and the identity of the file it was read from. */
export interface SecretFileContents {
  readonly text: string;
  readonly identity: FileIdentity;
}

/** How to wait for the lock, and when a lock is old enough to be a crashed holder's. */
export interface LockOptions {
  readonly timeoutMs: number;
  readonly staleMs: number;
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** True when both identities name the same unchanged file. */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * Reads the file, or undefined when there is none. Refuses a file that group
 * or others can access (HIPAA 164.312(a)(1) access control); `what` names the
 * file in messages ("The keyring file"), never its path. The mode is taken
 * from the open handle, so the checked file is the file read.
 */
export async function readSecretFile(file: string, what: string): Promise<SecretFileContents | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new KeyringError(`${what} is not a regular file`);
    if ((stats.mode & 0o077) !== 0) {
      throw new KeyringError(`${what} is accessible to group or others; restrict it to its owner (chmod 600)`);
    }
    const text = await handle.readFile({ encoding: 'utf8' });
    return { text, identity: { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs } };
  } finally {
    await handle.close();
  }
}

/** The identity of the file now at the path, or undefined when it is gone. */
export async function fileIdentity(file: string): Promise<FileIdentity | undefined> {
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

async function writeTempFile(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  // 'wx' + 0600: created fresh and owner-only from the first byte (umask can only narrow it).
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, { encoding: 'utf8' });
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
 * Creates the file only if none exists yet: the complete temp file is
 * hard-linked to the final name, which fails with EEXIST when another process
 * won the race. Returns false in that case; the caller then reads the winner's.
 */
export async function createSecretFile(file: string, text: string): Promise<boolean> {
  const temp = await writeTempFile(file, text);
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

/** Atomically replaces the file: readers see the old file or the new one, never a mix. */
export async function replaceSecretFile(file: string, text: string): Promise<void> {
  const temp = await writeTempFile(file, text);
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(path.dirname(file));
}

async function removeIfStale(lock: string, staleMs: number): Promise<void> {
  const identity = await fileIdentity(lock);
  if (identity !== undefined && Date.now() - identity.mtimeMs > staleMs) await unlink(lock).catch(() => undefined);
}

/**
 * Runs `action` holding `<file>.lock` (created with 'wx', so exactly one
 * holder), for read-modify-write of the file by several processes.
 */
export async function withFileLock<T>(file: string, options: LockOptions, action: () => Promise<T>): Promise<T> {
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
