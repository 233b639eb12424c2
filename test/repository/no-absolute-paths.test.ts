/**
 * The suite runs anywhere: no source, test, bench or script file names a
 * path that exists only on one machine (a home folder, a CI workspace, a
 * Windows drive). Fixtures live in the repository and are found from
 * import.meta.url; temporary data goes under os.tmpdir().
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The folders scanned, relative to the repository root. */
const scannedFolders = ['src', 'test', 'bench', 'scripts'];

/** Text files that are source, configuration or documentation next to it. */
const scannedExtensions = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json', '.sh', '.sql', '.md']);

/** Never scanned: installed or generated files. */
const skippedFolders = new Set(['node_modules', 'dist', '.git', 'coverage']);

/**
 * A machine's own folders: home folders (Linux, macOS), root's home, a CI or
 * container workspace, mounts, macOS per-user temp folders. They count only
 * where a path starts: at the start of a line, after whitespace, a quote,
 * `(`, `[`, `=`, `,` or `:`, or as a file:// URL. So URL paths
 * (`https://host/home/x`, `${base}/Users/`) and relative paths (`~/projects/`,
 * `data/home/`) pass, as do system paths every machine has (`/usr/lib/...`,
 * `/etc/...`, `/proc/...`, `/dev/null`, `/tmp/...`).
 */
const unixMachinePath = /(?:^|(?<=[\s'"`([=,:])|(?<=file:\/\/))\/(?:work|home|root|Users|mnt|media|var\/folders)\//;

/**
 * A Windows drive path: a drive letter that starts a word, a colon, then a
 * backslash, written twice (an escaped one, in TS or JSON source) or once (in
 * Markdown or a shell line). A single backslash before an escape letter
 * (`usage:\n`) is an escape sequence, not a path.
 */
const windowsDrivePath = /(?<![A-Za-z0-9_])[A-Za-z]:(?:\\\\|\\(?![nrtbfvux0'"`\\]))[A-Za-z0-9_$ .-]/;

/** True when the line names an absolute path of one machine. */
function namesMachinePath(line: string): boolean {
  return unixMachinePath.test(line) || windowsDrivePath.test(line);
}

/** Every scanned file under `root`'s `folders`, as paths relative to `root`. */
async function scannedFiles(root: string, folders: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(root, relative), { withFileTypes: true }).catch((error: unknown) => {
      // A folder the repository does not have (yet) is nothing to scan.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    });
    for (const entry of entries) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (!skippedFolders.has(entry.name)) await walk(child);
      } else if (entry.isFile() && scannedExtensions.has(path.extname(entry.name))) {
        files.push(child);
      }
    }
  };
  for (const folder of folders) await walk(folder);
  return files.sort();
}

/** `file:line: text` for every line under `root`'s `folders` that names a machine's path. */
async function findMachinePaths(root: string, folders: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await scannedFiles(root, folders)) {
    const lines = (await readFile(path.join(root, file), 'utf8')).split('\n');
    for (const [index, line] of lines.entries()) {
      if (namesMachinePath(line)) found.push(`${file.split(path.sep).join('/')}:${String(index + 1)}: ${line.trim()}`);
    }
  }
  return found;
}

// Planted paths are assembled at run time, so this file's own text never names one.
const slash = '/';
const planted = (...parts: string[]): string => slash + parts.join(slash);
const backslash = '\\';

test('the matcher flags the paths of one machine', () => {
  const flagged = [
    `const examples = '${planted('work', 'shared', 'fhir-r4-examples')}';`,
    `readFileSync("${planted('home', 'alice', 'caduceus', 'cert.pem')}")`,
    `  cwd: \`${planted('root', 'caduceus')}\`,`,
    `// copied from ${planted('Users', 'bob', 'Downloads', 'x.json')}`,
    `CADUCEUS_DATA_DIR=${planted('mnt', 'data', 'caduceus')}`,
    `new URL('file://${planted('home', 'carol', 'x.ts')}')`,
    `tmp: '${planted('var', 'folders', 'xy', 'T', 'caduceus')}'`,
    `{"fixture": "${planted('work', 'x.json')}"}`,
    `const dir = 'C:${backslash}${backslash}Users${backslash}${backslash}dave';`,
    `cd D:${backslash}caduceus`,
    `path: 'c:${backslash}${backslash}temp${backslash}${backslash}x'`,
  ];
  for (const line of flagged) assert.equal(namesMachinePath(line), true, line);
});

test('the matcher lets system paths, URL paths and relative paths through', () => {
  const passed = [
    "const locks = await readFile('/proc/locks', 'utf8');",
    "const root = '/usr/lib/postgresql';",
    "spawn('/usr/bin/pg_dump', args)",
    "'/etc/ssl/certs/ca-certificates.crt'",
    "stdio: '/dev/null'",
    "loadConfig({ CADUCEUS_DATA_DIR: '/tmp/caduceus-unused' })",
    "const base = '/api/v1/patients';",
    "url: '/api/v1/users/home/settings'",
    `fetch('https://example.org${planted('home', 'index.html')}')`,
    `\`\${base}${planted('root', 'x')}\``,
    `const cache = '~${planted('work', 'cache')}';`,
    `path.join(dir, 'data${planted('home', 'x')}')`,
    'throw new CliError(`unknown option\\nusage:\\n  ${usage}`, 2);',
    '"div": "<div>SSN:\\n 444222222</div>"',
    'assert.match(body, /https:\\/\\/app\\.example\\/callback/);',
    'const drive = /^[A-Z]:\\\\/;',
    `const label = 'a:${backslash}nb';`,
  ];
  for (const line of passed) assert.equal(namesMachinePath(line), false, line);
});

test('the scan names file and line of a planted path, and skips node_modules and other file kinds', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'caduceus-paths-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'test', 'api'), { recursive: true });
  await mkdir(path.join(root, 'src', 'node_modules', 'x'), { recursive: true });
  const line = `const examplesDir = '${planted('work', 'shared', 'fhir-r4-examples')}';`;
  await writeFile(path.join(root, 'test', 'api', 'planted.test.ts'), `import x from 'y';\n\n${line}\n`);
  await writeFile(path.join(root, 'src', 'node_modules', 'x', 'index.js'), `${line}\n`);
  await writeFile(path.join(root, 'src', 'photo.png'), `${line}\n`);
  assert.deepEqual(await findMachinePaths(root, scannedFolders), [`test/api/planted.test.ts:3: ${line}`]);
});

test('no file in src/, test/, bench/ or scripts/ names an absolute path of one machine', async () => {
  const found = await findMachinePaths(repoRoot, scannedFolders);
  assert.deepEqual(
    found,
    [],
    `use a path inside the repository (from import.meta.url) or under os.tmpdir() instead:\n${found.join('\n')}`,
  );
});
