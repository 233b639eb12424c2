#!/usr/bin/env node
// @ts-check
/**
 * `npm run caduceus`, `npm start` (`caduceus serve`) and the `caduceus` bin:
 * runs the CLI built in dist/ as it is. Rebuilding on every command cost
 * 4 to 20 s of tsc; running a build older than src/ would run old code
 * without a word. So a build is run only while no file tsc compiles is newer than
 * dist/.build-stamp (written by `npm run build` once tsc has succeeded), and
 * is otherwise refused in one line that says what to run. Without src/ (a
 * deployed build) there is nothing to compare with.
 *
 * Only node: imports here: the Node.js version check is dist/cli/main.js's
 * first step, and this file must reach it on an old Node too.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

/** Written by scripts/build-stamp.js. */
const stampFile = path.join('dist', '.build-stamp');

/** What tsc reads besides src/ (tsconfig.build.json extends tsconfig.json). */
const configFiles = ['tsconfig.json', 'tsconfig.build.json'];

/**
 * @param {string} file
 * @returns {number | null} the modification time, or null when the file is missing
 */
function modifiedMs(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * The newest compiled input under `dir`: .ts files only, since the login
 * assets beside them are read from src/ at run time and need no build.
 * @param {string} dir
 * @returns {{ file: string, ms: number } | null}
 */
function newestSource(dir) {
  /** @type {{ file: string, ms: number } | null} */
  let newest = null;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const candidate = entry.isDirectory()
      ? newestSource(file)
      : entry.name.endsWith('.ts')
        ? { file, ms: statSync(file).mtimeMs }
        : null;
    if (candidate !== null && (newest === null || candidate.ms > newest.ms)) newest = candidate;
  }
  return newest;
}

/**
 * Why the build in `root`/dist/ must not run, in one line, or null when it may.
 * @param {string} root
 * @returns {string | null}
 */
function buildProblem(root) {
  const src = path.join(root, 'src');
  if (modifiedMs(src) === null) return null;
  const stampMs = modifiedMs(path.join(root, stampFile));
  if (stampMs === null) return 'dist/ holds no finished build; run `npm run build`';
  let newest = newestSource(src);
  for (const name of configFiles) {
    const ms = modifiedMs(path.join(root, name));
    if (ms !== null && (newest === null || ms > newest.ms)) newest = { file: path.join(root, name), ms };
  }
  if (newest === null || newest.ms <= stampMs) return null;
  const changed = path.relative(root, newest.file).split(path.sep).join('/');
  return `the build in dist/ is older than src/ (${changed} changed since); run \`npm run build\``;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const problem = buildProblem(root);
if (problem === null) {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
} else {
  process.stderr.write(`caduceus: ${problem}\n`);
  process.exitCode = 1;
}
