import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { failureLine } from '../../src/cli/failure-line.js';
import { ConfigError } from '../../src/config/index.js';
import { ListenError } from '../../src/edge/listen-error.js';
import { ApiError, CaduceusError } from '../../src/errors/index.js';
import { StorageError } from '../../src/storage/errors.js';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
const base = path.join('errors', 'caduceus-error.ts');
const builtInErrors = /^(Aggregate|Eval|Range|Reference|Syntax|Type|URI)?Error$/;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

test('every error class in src/ extends CaduceusError; only the base extends Error', async () => {
  const parents = new Map<string, { parent: string; file: string }>();
  for (const file of await sourceFiles(src)) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/\bclass\s+(\w+)(?:<[^>{]*>)?\s+extends\s+([\w.]+)/g)) {
      parents.set(match[1] ?? '', { parent: match[2] ?? '', file: path.relative(src, file) });
    }
  }
  assert.equal(parents.get('CaduceusError')?.file, base);
  const refused: string[] = [];
  for (const [name, { file }] of parents) {
    if (name === 'CaduceusError') continue;
    let current = name;
    // Walk up our own classes; a chain must reach CaduceusError before any built-in or library error.
    for (let depth = 0; depth < 10 && current !== 'CaduceusError'; depth += 1) {
      const next = parents.get(current)?.parent;
      if (next === undefined) break;
      current = next;
    }
    const isError = current === 'CaduceusError' || builtInErrors.test(current) || /Error$/.test(current);
    if (isError && current !== 'CaduceusError') refused.push(`${file}: ${name} reaches ${current}`);
  }
  assert.deepEqual(refused, []);
  assert.ok(parents.size > 25, 'the scan found the error classes');
});

test('the failure line shows an operator-safe message with its setting, once', () => {
  const listen = new ListenError('cannot listen on 127.0.0.1:8443: the port is in use', { setting: 'CADUCEUS_PORT' });
  assert.ok(listen instanceof CaduceusError);
  assert.equal(listen.code, 'LISTEN_FAILED');
  assert.equal(
    failureLine(listen),
    'caduceus: cannot listen on 127.0.0.1:8443: the port is in use (set CADUCEUS_PORT)',
  );
  assert.equal(
    failureLine(new ConfigError('CADUCEUS_PORT must be a whole number')),
    'caduceus: CADUCEUS_PORT must be a whole number',
  );
  assert.equal(failureLine(new StorageError('open', 'failed')), 'caduceus: Storage operation open failed (failed)');
});

test('an unknown error is named by its code or class, never by its message', () => {
  const sql = 'relation "patients" does not exist: SELECT * FROM patients WHERE name = \'Jane Doe\'';
  const pgError = Object.assign(new Error(sql), { code: '42P01' });
  assert.equal(failureLine(pgError), 'caduceus: the command failed (42P01)');
  assert.equal(failureLine(new TypeError(sql)), 'caduceus: the command failed (TypeError)');
  assert.equal(
    failureLine(Object.assign(new Error(sql), { name: sql })),
    'caduceus: the command failed (unknown error)',
  );
  assert.equal(failureLine(sql), 'caduceus: the command failed (unknown error)');
  // An ApiError with its own message may name a client's field: only the catalogue's sentence is shown.
  const specific = new ApiError('VALIDATION_ERROR', 'Patient.name: Jane Doe is not allowed');
  assert.equal(specific.operatorSafe, false);
  assert.equal(failureLine(specific), 'caduceus: the command failed (VALIDATION_ERROR)');
  assert.equal(new ApiError('NOT_FOUND').operatorSafe, true);
});

test('an operator-safe message still prints as one line', () => {
  assert.equal(failureLine(new ConfigError('first\nsecond')), 'caduceus: first; second');
});
