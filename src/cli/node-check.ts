/**
 * The runtime check both entries (src/main.ts, src/cli/main.ts) run before
 * anything else. On Node 20 Caduceus failed as `Storage operation open
 * failed (failed)`, which names neither Node nor the version; the entries
 * import the rest of Caduceus only after this passes. No imports here, so
 * nothing can fail on an old Node before the check has spoken.
 */

/** The oldest Node.js release Caduceus supports: package.json `engines` (`>=22.12.0`). */
export const minimumNode = { major: 22, minor: 12 } as const;

/** The one-line refusal for a Node version (`process.version` form, `v20.20.2`), or null when it is new enough. */
export function unsupportedNodeMessage(version: string): string | null {
  const match = /^v?(\d+)\.(\d+)\.\d+/.exec(version);
  const major = Number(match?.[1] ?? Number.NaN);
  const minor = Number(match?.[2] ?? Number.NaN);
  // An unparsable version is refused: it is not one we know to work.
  const supported = major > minimumNode.major || (major === minimumNode.major && minor >= minimumNode.minor);
  return supported
    ? null
    : `caduceus: Caduceus needs Node.js ${minimumNode.major}.${minimumNode.minor} or newer; this is Node.js ${version.replace(/^v/, '')}`;
}

/** True on a supported Node; otherwise prints the refusal on stderr, sets exit code 1 and returns false. */
export function supportedNode(version: string = process.version): boolean {
  const message = unsupportedNodeMessage(version);
  if (message === null) return true;
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
  return false;
}
