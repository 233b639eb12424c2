/**
 * CADUCEUS_LOG_FORMAT (docs/logging.md): human-readable lines for a
 * developer's terminal, JSON everywhere else, and the same redaction in
 * both forms.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import type { DestinationStream } from 'pino';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/gateway/logging.js';
import { caduceusEnv, parseJsonLine, processScope, repoRoot, spawnServer, testMasterKey } from '../helpers/process.js';

/** A destination that keeps what the logger wrote. */
function collector(): DestinationStream & { readonly text: () => string } {
  const chunks: string[] = [];
  return {
    write: (chunk: string) => {
      chunks.push(chunk);
    },
    text: () => chunks.join(''),
  };
}

test('the default format: pretty only in development with a terminal on stdout; the setting overrides', () => {
  const production = { CADUCEUS_ENV: 'production', CADUCEUS_MASTER_KEY: testMasterKey };
  assert.equal(loadConfig({}, repoRoot, true).logFormat, 'pretty');
  assert.equal(loadConfig({}, repoRoot, false).logFormat, 'json', 'a pipe, a file or a log collector gets JSON');
  assert.equal(loadConfig(production, repoRoot, true).logFormat, 'json', 'production gets JSON on a terminal too');
  assert.equal(loadConfig({ CADUCEUS_LOG_FORMAT: 'json' }, repoRoot, true).logFormat, 'json');
  assert.equal(loadConfig({ CADUCEUS_LOG_FORMAT: 'pretty' }, repoRoot, false).logFormat, 'pretty');
  assert.equal(loadConfig({ ...production, CADUCEUS_LOG_FORMAT: 'pretty' }, repoRoot, false).logFormat, 'pretty');
  assert.throws(
    () => loadConfig({ CADUCEUS_LOG_FORMAT: 'fancy-MRK' }, repoRoot, true),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === 'CADUCEUS_LOG_FORMAT must be one of: json, pretty' &&
      !error.message.includes('MRK'),
  );
});

/** Logs, at every level, each thing the redaction exists for, with a unique marker in every value. */
function logSecrets(format: 'json' | 'pretty'): { text: string; markers: string[] } {
  const destination = collector();
  const logger = createLogger({ logLevel: 'trace', logFormat: format }, destination);
  const markers: string[] = [];
  const mark = (label: string): string => {
    const marker = `MRK-${randomBytes(6).toString('hex')}-${label}`;
    markers.push(marker);
    return marker;
  };
  logger.info({ authorization: `Bearer ${mark('authorization')}` }, 'top-level authorization');
  logger.warn({ request: { authorization: mark('nested-authorization') } }, 'nested authorization');
  logger.info({ headers: { 'x-custom': mark('headers') } }, 'headers');
  logger.debug({ request: { headers: { cookie: mark('nested-headers') } } }, 'nested headers');
  logger.info({ body: { name: [{ family: mark('body') }] } }, 'body');
  logger.error({ reply: { body: mark('nested-body') } }, 'nested body');
  logger.trace({ token: mark('token'), client: { token: mark('nested-token') } }, 'tokens');
  logger.info({ password: mark('password'), user: { password: mark('nested-password') } }, 'passwords');
  logger.fatal({ secret: mark('secret'), webhook: { secret: mark('nested-secret') } }, 'secrets');
  logger.info({ url: `/api/v1/patients?family=${mark('url')}`, request: { url: mark('nested-url') } }, 'urls');
  logger.info({ query: { family: mark('query') }, search: { query: mark('nested-query') } }, 'queries');
  logger.error({ err: new Error(`SELECT * FROM patients WHERE family = '${mark('err')}'`) }, 'failed');
  return { text: destination.text(), markers };
}

test('pretty output is redacted exactly as JSON is: no PHI, token or secret in either form', () => {
  const json = logSecrets('json');
  const pretty = logSecrets('pretty');
  for (const { text, markers } of [json, pretty]) {
    for (const marker of markers) assert.ok(!text.includes(marker), `${marker} leaked:\n${text}`);
  }
  const jsonLines = json.text.trimEnd().split('\n');
  assert.equal(jsonLines.length, 12);
  for (const line of jsonLines) assert.ok(parseJsonLine(line), `a JSON line: ${line}`);
  const count = (text: string): number => text.split('[redacted]').length - 1;
  assert.equal(count(json.text), 18, json.text);
  assert.equal(count(pretty.text), count(json.text), pretty.text);

  const plain = stripVTControlCharacters(pretty.text);
  assert.doesNotMatch(plain, /^\{/m, 'no pretty line is JSON');
  // A line: the local time, the level, the message, then the other fields on the same line.
  const line = (rest: string): RegExp => new RegExp(String.raw`^\[[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\] ${rest}`, 'm');
  assert.match(plain, line(String.raw`INFO: top-level authorization \{"authorization":"\[redacted\]"\}$`));
  assert.match(plain, line('FATAL: secrets '));
  assert.doesNotMatch(plain, /"service"/, 'the constant service field is left out');
});

test('pretty output sets the first-request hint apart: its command alone on a line between blank lines', () => {
  const destination = collector();
  const logger = createLogger({ logLevel: 'info', logFormat: 'pretty' }, destination);
  const command = 'TOKEN=$(npm run --silent caduceus -- token issue --role clinician) && curl https://localhost:8443/';
  logger.info({ event: 'server.listening', address: 'https://localhost:8443' }, 'Caduceus listening');
  logger.info({ event: 'server.first_request_hint' }, `empty database. First authenticated request: ${command}`);
  logger.info({ event: 'server.stopping' }, 'draining in-flight requests');
  const lines = stripVTControlCharacters(destination.text()).split('\n');
  assert.match(
    lines[0] ?? '',
    /INFO: Caduceus listening \{"event":"server.listening","address":"https:\/\/localhost:8443"\}$/,
  );
  assert.equal(lines[1], '');
  assert.match(lines[2] ?? '', /INFO: empty database\. First authenticated request:$/);
  assert.deepEqual(lines.slice(3, 6), ['', `    ${command}`, '']);
  assert.match(lines[6] ?? '', /INFO: draining in-flight requests \{"event":"server.stopping"\}$/);
});

test('a server whose stdout is a pipe logs JSON by default (what log scans and collectors read)', async (t) => {
  const scope = await processScope(t);
  const server = await spawnServer(scope, caduceusEnv(scope.dir, { CADUCEUS_LOG_LEVEL: 'info' }));
  server.child.kill('SIGTERM');
  assert.equal((await server.exited).code, 0);
  assert.ok(server.stdout.length >= 4, server.stdout.join('\n'));
  for (const line of server.stdout.filter((l) => l !== '')) assert.ok(parseJsonLine(line), `a JSON line: ${line}`);
});

test('a server with CADUCEUS_LOG_FORMAT=pretty logs human-readable lines, the hint set apart, and nothing on stderr', async (t) => {
  const scope = await processScope(t);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CADUCEUS_') && name !== 'NODE_TEST_CONTEXT' && name !== 'NODE_OPTIONS',
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'main.ts')], {
    cwd: repoRoot,
    env: { ...env, ...caduceusEnv(scope.dir, { CADUCEUS_LOG_LEVEL: 'info', CADUCEUS_LOG_FORMAT: 'pretty' }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  scope.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await closed;
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no first-request hint in 20 s: ${stdout}${stderr}`));
    }, 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/\n {4}TOKEN=.*\n\n/.test(stripVTControlCharacters(stdout))) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  assert.equal(await closed, 0);
  assert.equal(stderr, '');
  const lines = stripVTControlCharacters(stdout).split('\n');
  for (const line of lines) assert.equal(parseJsonLine(line), undefined, `not a JSON line: ${line}`);
  assert.ok(lines.some((line) => / INFO: Caduceus listening on https:\/\/localhost:\d+ \(TLS 1\.3 only\) /.test(line)));
  const hint = lines.findIndex((line) => line.endsWith('INFO: empty database. First authenticated request:'));
  assert.ok(hint > 0, stdout);
  assert.equal(lines[hint - 1], '');
  assert.equal(lines[hint + 1], '');
  assert.match(
    lines[hint + 2] ?? '',
    /^ {4}TOKEN=\$\(npm run --silent caduceus -- token issue --role clinician\) && curl /,
  );
  assert.equal(lines[hint + 3], '');
  assert.ok(
    lines.some((line) => line.endsWith('INFO: stopped {"event":"server.stopped"}')),
    stdout,
  );
  assert.ok(!stdout.includes(testMasterKey));
});
