/**
 * Node system errors (errno codes) in words an operator can act on. Only the
 * code is read, never the error's message: a driver's message may quote SQL,
 * a URL with its password or a path from a request.
 */

/** What a file-system errno means for a path the operator configured. */
const fileCauses: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'the path is a folder',
  ENOENT: 'it does not exist',
  ENOSPC: 'the disk is full',
  EMFILE: 'too many open files',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EEXIST: 'the file already exists',
};

/** The `code` of an error or of the first of its causes that has one (drivers wrap the system error). */
export function systemErrorCode(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The cause in words when `error` is a file-system error; undefined for anything else. */
export function fileErrorCause(error: unknown): string | undefined {
  const code = systemErrorCode(error);
  // A recursive mkdir meets a file where a folder should be with EEXIST, not ENOTDIR.
  if (code === 'EEXIST' && syscallOf(error) === 'mkdir') return fileCauses.ENOTDIR;
  return code === undefined ? undefined : fileCauses[code];
}

function syscallOf(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    if ('syscall' in current) return current.syscall;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
