/**
 * The launcher (bin/caduceus.js: `npm run caduceus`, `npm start`) runs the
 * build in dist/ without rebuilding and refuses, in one line, a build older
 * than src/; both entries refuse an old Node.js in one line before they
 * import anything else. The launcher is exercised in a temp tree of its own
 * (a copy of it, a fake dist/ and src/), so no test touches the repository's
 * src/ or dist/.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import ts from 'typescript';
import { minimumNode, unsupportedNodeMessage } from '../../src/cli/node-check.js';
import { processScope, repoRoot } from '../helpers/process.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <args>` in `cwd` with our environment minus the test runner's; resolves when it has exited. */
function runNode(node: string, args: readonly string[], cwd: string): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CADUCEUS_') && name !== 'NODE_TEST_CONTEXT' && name !== 'NODE_OPTIONS',
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code: number | null) => {
      resolve({ code, stdout, stderr });
    });
  });
}

const stale = /^caduceus: the build in dist\/ is older than src\/ \((.+) changed since\); run `npm run build`\n$/;

/** A temp tree with a copy of the launcher and of the stamp writer, a fake built CLI and one source file. */
async function launcherTree(t: TestContext): Promise<string> {
  const { dir } = await processScope(t, 'caduceus-launcher-');
  await mkdir(path.join(dir, 'bin'));
  await mkdir(path.join(dir, 'scripts'));
  await mkdir(path.join(dir, 'dist', 'cli'), { recursive: true });
  await mkdir(path.join(dir, 'src', 'cli'), { recursive: true });
  await copyFile(path.join(repoRoot, 'bin', 'caduceus.js'), path.join(dir, 'bin', 'caduceus.js'));
  await copyFile(path.join(repoRoot, 'scripts', 'build-stamp.js'), path.join(dir, 'scripts', 'build-stamp.js'));
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(path.join(dir, 'tsconfig.json'), '{}\n');
  await writeFile(path.join(dir, 'src', 'cli', 'main.ts'), '// source\n');
  await writeFile(
    path.join(dir, 'dist', 'cli', 'main.js'),
    "process.stdout.write(`built CLI ran: ${process.argv.slice(2).join(' ')}\\n`);\nprocess.exitCode = 3;\n",
  );
  return dir;
}

/** Sets a file's modification time `seconds` from now. */
async function age(file: string, seconds: number): Promise<void> {
  const when = new Date(Date.now() + seconds * 1000);
  await utimes(file, when, when);
}

test('the Node.js version check: 22.12 and newer pass, older and unparsable versions get one line', () => {
  assert.deepEqual(minimumNode, { major: 22, minor: 12 });
  for (const version of ['v22.12.0', 'v22.12.1', 'v22.20.0', 'v23.0.0', 'v24.22.3', 'v100.0.0'])
    assert.equal(unsupportedNodeMessage(version), null, version);
  assert.equal(
    unsupportedNodeMessage('v20.20.2'),
    'caduceus: Caduceus needs Node.js 22.12 or newer; this is Node.js 20.20.2',
  );
  for (const version of ['v22.11.0', 'v22.0.0', 'v21.99.99', 'v18.20.4', 'v16.0.0', 'v0.12.18', 'nonsense', ''])
    assert.match(
      unsupportedNodeMessage(version) ?? '',
      /^caduceus: Caduceus needs Node\.js 22\.12 or newer; /,
      version,
    );
});

test('launcher: runs the build as it is while no compiled input is newer than the stamp', async (t) => {
  const dir = await launcherTree(t);
  const launcher = path.join('bin', 'caduceus.js');

  const unbuilt = await runNode(process.execPath, [launcher, '--help'], dir);
  assert.deepEqual(unbuilt, {
    code: 1,
    stdout: '',
    stderr: 'caduceus: dist/ holds no finished build; run `npm run build`\n',
  });

  // `npm run build` ends with the stamp writer, once tsc has succeeded.
  await age(path.join(dir, 'src', 'cli', 'main.ts'), -60);
  await age(path.join(dir, 'tsconfig.json'), -60);
  assert.equal((await runNode(process.execPath, [path.join('scripts', 'build-stamp.js')], dir)).code, 0);
  assert.ok(!Number.isNaN(Date.parse((await readFile(path.join(dir, 'dist', '.build-stamp'), 'utf8')).trim())));
  const fresh = await runNode(process.execPath, [launcher, 'token', 'issue', '--role', 'clinician'], dir);
  assert.deepEqual(fresh, { code: 3, stdout: 'built CLI ran: token issue --role clinician\n', stderr: '' });

  // The login assets beside the sources are read from src/ at run time: editing them needs no build.
  await writeFile(path.join(dir, 'src', 'cli', 'login.css'), 'body {}\n');
  await age(path.join(dir, 'src', 'cli', 'login.css'), 60);
  assert.equal((await runNode(process.execPath, [launcher], dir)).code, 3);

  await writeFile(path.join(dir, 'src', 'cli', 'new.ts'), '// edited after the build\n');
  await age(path.join(dir, 'src', 'cli', 'new.ts'), 60);
  const edited = await runNode(process.execPath, [launcher, 'serve'], dir);
  assert.equal(edited.code, 1);
  assert.equal(edited.stdout, '', 'the old build did not run');
  assert.equal(stale.exec(edited.stderr)?.[1], 'src/cli/new.ts');
});

test('launcher: a changed tsconfig makes the build stale; without src/ (a deployed build) nothing is compared', async (t) => {
  const dir = await launcherTree(t);
  const launcher = path.join('bin', 'caduceus.js');
  await age(path.join(dir, 'src', 'cli', 'main.ts'), -60);
  await age(path.join(dir, 'tsconfig.json'), 60);
  await writeFile(path.join(dir, 'dist', '.build-stamp'), 'now\n');
  assert.equal(stale.exec((await runNode(process.execPath, [launcher], dir)).stderr)?.[1], 'tsconfig.json');

  const deployed = path.join(dir, 'deployed');
  await mkdir(path.join(deployed, 'bin'), { recursive: true });
  await mkdir(path.join(deployed, 'dist', 'cli'), { recursive: true });
  await copyFile(path.join(dir, 'package.json'), path.join(deployed, 'package.json'));
  await copyFile(path.join(dir, 'bin', 'caduceus.js'), path.join(deployed, 'bin', 'caduceus.js'));
  await copyFile(path.join(dir, 'dist', 'cli', 'main.js'), path.join(deployed, 'dist', 'cli', 'main.js'));
  assert.deepEqual(await runNode(process.execPath, [launcher, 'audit', 'verify'], deployed), {
    code: 3,
    stdout: 'built CLI ran: audit verify\n',
    stderr: '',
  });
});

test('package.json: install builds once (prepare), the CLI and npm start run the launcher, build ends with the stamp', async () => {
  const manifest = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
    engines: { node: string };
  };
  assert.equal(manifest.scripts.prepare, 'npm run build');
  assert.match(manifest.scripts.build ?? '', /^tsc -p tsconfig\.build\.json && node scripts\/build-stamp\.js$/);
  assert.equal(manifest.scripts.caduceus, 'node bin/caduceus.js');
  assert.equal(manifest.scripts.start, 'node bin/caduceus.js serve');
  assert.equal(manifest.bin.caduceus, 'bin/caduceus.js');
  assert.equal(manifest.engines.node, `>=${minimumNode.major}.${minimumNode.minor}.0`);
});

/** A `node` on PATH older than 22.12 (a system Node beside the one running the tests), or null. */
function oldNode(): { path: string; version: string } | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (unsupportedNodeMessage(version) !== null) return { path: candidate, version };
    } catch {
      // Not there, or not runnable: try the next directory.
    }
  }
  return null;
}

/** Compiles one source file to JavaScript (no type check: tsc checks the real build). */
async function transpile(source: string, target: string): Promise<void> {
  const { outputText } = ts.transpileModule(await readFile(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
  });
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, outputText);
}

/**
 * A built tree holding only the entries and the version check, compiled
 * from src/: an entry that imported anything else before the check would
 * fail here with ERR_MODULE_NOT_FOUND instead of the one line.
 */
async function entriesTree(t: TestContext): Promise<string> {
  const { dir } = await processScope(t, 'caduceus-entries-');
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  await copyFile(path.join(repoRoot, 'bin', 'caduceus.js'), path.join(dir, 'bin', 'caduceus.js'));
  await transpile(path.join(repoRoot, 'src', 'main.ts'), path.join(dir, 'dist', 'main.js'));
  await transpile(path.join(repoRoot, 'src', 'cli', 'main.ts'), path.join(dir, 'dist', 'cli', 'main.js'));
  await transpile(path.join(repoRoot, 'src', 'cli', 'node-check.ts'), path.join(dir, 'dist', 'cli', 'node-check.js'));
  return dir;
}

test('on a supported Node the built entries pass the check and only then import the rest', async (t) => {
  const dir = await entriesTree(t);
  for (const args of [[path.join('bin', 'caduceus.js'), '--help'], [path.join('dist', 'main.js')]]) {
    const run = await runNode(process.execPath, args, dir);
    assert.equal(run.code, 1, args.join(' '));
    // run.js is missing from this tree: the dynamic import after the check is what fails.
    assert.match(run.stderr, /ERR_MODULE_NOT_FOUND[\s\S]*run\.js/, args.join(' '));
    assert.doesNotMatch(run.stderr, /needs Node\.js/);
  }
});

test('on Node older than 22.12 the launcher, both built entries and both source entries print one line and exit 1', async (t) => {
  const old = oldNode();
  if (old === null) {
    t.skip('no Node.js older than 22.12 on PATH to run the entries with');
    return;
  }
  t.diagnostic(`old Node: ${old.path} ${old.version}`);
  const expected = `caduceus: Caduceus needs Node.js 22.12 or newer; this is Node.js ${old.version.replace(/^v/, '')}\n`;
  const dir = await entriesTree(t);
  const runs: [string, readonly string[], string][] = [
    ['launcher', [path.join('bin', 'caduceus.js'), 'serve'], dir],
    ['built server entry', [path.join('dist', 'main.js')], dir],
    ['built CLI entry', [path.join('dist', 'cli', 'main.js'), 'token', 'issue', '--role', 'clinician'], dir],
    // As the tests run them (test/helpers/process.ts): the real sources through tsx.
    ['source server entry', ['--import', 'tsx', path.join('src', 'main.ts')], repoRoot],
    ['source CLI entry', ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), '--help'], repoRoot],
  ];
  for (const [name, args, cwd] of runs) {
    assert.deepEqual(await runNode(old.path, args, cwd), { code: 1, stdout: '', stderr: expected }, name);
  }
});
