/**
 * The layers of src/ (docs/architecture.md, layers.js): every import goes to
 * the same layer or one below, so no two top-level folders import each other
 * even through a third; lint refuses an upward import; the page's table is
 * the list lint enforces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import importX from 'eslint-plugin-import-x';
import ts from 'typescript';
import tseslint from 'typescript-eslint';
import { layerZones, layers } from '../../layers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = path.join(root, 'src');

/** The top-level entry of src/ a file belongs to: its folder, or the file itself at the root. */
function topOf(file: string): string {
  return path.relative(src, file).split(path.sep)[0] ?? '';
}

function layerIndex(entry: string): number {
  return layers.findIndex((layer) => layer.paths.includes(entry));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly where: string;
}

/** Every relative import (static, type-only, re-export, side-effect and dynamic) from one src/ entry to another. */
function crossEntryImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), imported.fileName);
      const [from, to] = [topOf(file), topOf(target)];
      const line = text.slice(0, imported.pos).split('\n').length;
      if (from !== to) edges.push({ from, to, where: `${path.relative(root, file)}:${String(line)}` });
    }
  }
  return edges;
}

/** Strongly connected components of more than one entry (Tarjan). */
function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (stack.includes(to)) low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of next.keys()) if (!index.has(node)) visit(node);
  return found;
}

test('every top-level entry of src/ belongs to exactly one layer', () => {
  const entries = readdirSync(src).filter((name) => !name.startsWith('.'));
  for (const entry of entries) {
    const owners = layers.filter((layer) => layer.paths.includes(entry));
    assert.equal(owners.length, 1, `src/${entry} is in ${String(owners.length)} layers of layers.js`);
  }
  for (const layer of layers) {
    for (const entry of layer.paths)
      assert.ok(entries.includes(entry), `layers.js names src/${entry}, which is not there`);
  }
});

test('every import goes to the same layer or one below it', () => {
  const upward = crossEntryImports().filter(({ from, to }) => layerIndex(to) > layerIndex(from));
  assert.deepEqual(
    upward.map(({ from, to, where }) => `${where}: ${from} imports ${to}`),
    [],
  );
});

test('no cycle between top-level folders, counting type-only imports too', () => {
  const edges = crossEntryImports();
  assert.ok(edges.length > 50, 'the import scan found almost nothing: is it reading src/?');
  assert.deepEqual(cycles(edges), []);
});

test('the cycle finder finds a planted cycle', () => {
  const planted: Edge[] = [
    { from: 'storage', to: 'auth', where: 'x' },
    { from: 'auth', to: 'audit', where: 'y' },
    { from: 'audit', to: 'storage', where: 'z' },
    { from: 'errors', to: 'lib', where: 'w' },
  ];
  assert.deepEqual(cycles(planted), [['audit', 'auth', 'storage']]);
});

/** Lints one text as if it were the file at `relative`, with only the layer rule. */
async function layerLint(relative: string, text: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { 'import-x': importX as unknown as ESLint.Plugin },
        settings: { 'import-x/resolver': { typescript: { project: './tsconfig.json' } } },
        rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones() }] },
      },
    ],
  });
  const [result] = await eslint.lintText(text, { filePath: path.join(root, relative) });
  return (result?.messages ?? []).map((message) => message.message);
}

test('lint refuses an import from a layer above, and allows one from below', async () => {
  const upward = await layerLint(
    'src/storage/planted.ts',
    "import { authenticatePlugin } from '../auth/authenticate-plugin.js';\n",
  );
  assert.equal(upward.length, 1, JSON.stringify(upward));
  assert.match(upward[0] ?? '', /the storage layer may not import from a layer above it/);
  const downward = await layerLint('src/auth/planted.ts', "import { ApiError } from '../errors/index.js';\n");
  assert.deepEqual(downward, []);
});

test("docs/architecture.md's layer table is layers.js, in order", () => {
  const page = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
  const rows = page
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map((line) => line.split('|').map((cell) => cell.trim()));
  assert.deepEqual(
    rows.map((cells) => [cells[2], cells[3]]),
    layers.map((layer) => [layer.name, layer.paths.map((p) => `\`${p}\``).join(', ')]),
  );
});
