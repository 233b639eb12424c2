/**
 * The scenario of log-scan.test.ts: a real server process and the CLI, driven
 * through everything a client or operator can do, with unique marker values
 * (`MRK-<hex>-<label>`) planted wherever a client can put data. It returns
 * every line the processes wrote and every value that must never be in one.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createRevocationStore } from '../../src/auth/revocation.js';
import { openDatabase } from '../../src/storage/open.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  rawTlsExchange,
  runCliProcess,
  spawnServer,
  type HttpsResult,
  type ProcessScope,
  type ServerProcess,
} from '../helpers/process.js';

/** What one scenario run leaves behind for the scan. */
export interface ScenarioRun {
  /** Every marker starts with this (`MRK-<hex>`). */
  readonly prefix: string;
  /** Markers used as token subjects: logged by design in `subject` fields only. */
  readonly subjects: readonly string[];
  /** Secrets by name: tokens and their parts, key material, the webhook secret. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Server stdout and stderr lines, and CLI stderr lines (CLI stdout is the command's result). */
  readonly serverLines: readonly string[];
  readonly serverStderr: readonly string[];
  readonly cliLines: readonly string[];
  readonly dataDir: string;
  /** Each step's status and `X-Request-Id` (none for the raw exchange), so the scan knows the scenario really ran. */
  readonly responses: Readonly<Record<string, Answer>>;
  /** The server-assigned ids of the Patients created. */
  readonly patientIds: readonly string[];
}

/** Options of one run. */
export interface ScenarioOptions {
  readonly logLevel: 'trace' | 'info';
  readonly masterKeyForm: 'hex' | 'base64';
  /** Extra environment (e.g. a PKCS#11 key manager and its PIN). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What one step of the scenario got back. */
export interface Answer {
  readonly status: number;
  readonly requestId: string | undefined;
}

interface IssuedToken {
  access_token: string;
  jti: string;
  expires_at: string;
  sub: string;
}

/** A Patient carrying markers in every element a client fills. */
function patientBody(m: (label: string) => string, round: string, id?: string): string {
  return JSON.stringify({
    resourceType: 'Patient',
    ...(id !== undefined && { id }),
    identifier: [{ system: `https://example.org/${m('idsys')}`, value: m(`idval-${round}`) }],
    name: [
      {
        family: m(`family-${round}`),
        given: [m('given'), `<script>${m('xss')}</script>`],
        text: `O'Brien ' OR 1=1 -- ${m('sqli')}`,
      },
    ],
    telecom: [
      { system: 'phone', value: m('phone') },
      { system: 'email', value: `${m('email')}@example.org` },
    ],
    gender: 'female',
    birthDate: '1974-12-25',
    _birthDate: { extension: [{ url: `https://example.org/${m('bdurl')}`, valueString: m('bdext') }] },
    address: [{ line: [m('line')], city: m('city'), postalCode: m('postal') }],
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${m('narrative')}</p></div>` },
    extension: [{ url: `https://example.org/${m('exturl')}`, valueString: m('extvalue') }],
  });
}

/** Token issue with `--json`; the CLI's stdout is its result, so only its stderr is a log. */
async function issue(
  scope: ProcessScope,
  env: Record<string, string>,
  cliLines: string[],
  args: readonly string[],
): Promise<IssuedToken> {
  const run = await runCliProcess(scope, env, ['token', 'issue', ...args, '--json']);
  cliLines.push(...run.stderr.split('\n').filter((line) => line !== ''));
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as IssuedToken;
}

/** Flips the last byte (the GCM tag) of a stored version: the next read fails its seal (500 + integrity.error). */
function corruptLatestVersion(databaseFile: string, id: string): void {
  const db = new Database(databaseFile);
  try {
    db.pragma('busy_timeout = 5000');
    const row = db
      .prepare('SELECT version, body FROM resource_versions WHERE type = ? AND id = ? ORDER BY version DESC LIMIT 1')
      .get('Patient', id) as { version: number; body: Buffer };
    const body = Buffer.from(row.body);
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0xff;
    db.prepare('UPDATE resource_versions SET body = ? WHERE type = ? AND id = ? AND version = ?').run(
      body,
      'Patient',
      id,
      row.version,
    );
  } finally {
    db.close();
  }
}

/** The ciphertext of a sealed keyring file (docs/key-management.md), to scan for; none when the file is absent. */
async function sealedCiphertextOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return [];
  const { ciphertext } = JSON.parse(text) as { ciphertext?: unknown };
  assert.equal(typeof ciphertext, 'string', `${file} is sealed`);
  // A prefix: any fragment long enough to matter would contain it or be caught by the marker and key scans.
  return [String(ciphertext).slice(0, 32)];
}

/** The environment of the run: low alert thresholds, a tiny `default` bucket, a failing webhook, a trusted proxy. */
function scenarioEnv(
  dir: string,
  m: (label: string) => string,
  masterKey: string,
  options: ScenarioOptions,
): Record<string, string> {
  return caduceusEnv(dir, {
    CADUCEUS_LOG_LEVEL: options.logLevel,
    CADUCEUS_MASTER_KEY: masterKey,
    CADUCEUS_CLOCK_SKEW_SECONDS: '0',
    CADUCEUS_TRUSTED_PROXIES: '127.0.0.1',
    CADUCEUS_IP_DENY_LIST: '198.51.100.0/24',
    CADUCEUS_RATE_LIMIT: 'default=4/1m:4',
    CADUCEUS_ALERT_RULES:
      'repeated_forbidden=3/5m,rate_limit_storm=3/1m,failed_login_burst_ip=3/5m,bulk_read=5/10m,patient_snooping=2/1h',
    // Port 9 on loopback: nothing listens, so every delivery fails and is retried; the URL carries markers.
    CADUCEUS_ALERT_WEBHOOK_URL: `https://127.0.0.1:9/${m('hookpath')}?key=${m('hookquery')}`,
    CADUCEUS_ALERT_WEBHOOK_SECRET: `${m('webhook-secret')}-0123456789abcdef`,
    CADUCEUS_ALERT_WEBHOOK_ALLOW: '127.0.0.1/32',
    ...options.env,
  });
}

/** Runs the whole scenario once; the server is stopped with SIGTERM and the audit log verified by the CLI. */
export async function runScenario(t: TestContext, options: ScenarioOptions): Promise<ScenarioRun> {
  const scope = await processScope(t, 'caduceus-logscan-');
  const prefix = `MRK-${randomBytes(6).toString('hex')}`;
  const m = (label: string): string => `${prefix}-${label}`;
  const keyBytes = randomBytes(32);
  const env = scenarioEnv(
    scope.dir,
    m,
    options.masterKeyForm === 'hex' ? keyBytes.toString('hex') : keyBytes.toString('base64'),
    options,
  );
  const server = await spawnServer(scope, env);
  const cliLines: string[] = [];
  const [main, device, admin, revoked, expired] = await Promise.all([
    issue(scope, env, cliLines, ['--role', 'clinician', '--sub', m('sub')]),
    issue(scope, env, cliLines, ['--role', 'device', '--sub', m('devsub')]),
    // MFA for the delete and the care-team assignment below (docs/access-control.md).
    issue(scope, env, cliLines, ['--role', 'admin', '--amr', 'pwd,otp']),
    issue(scope, env, cliLines, ['--role', 'clinician']),
    issue(scope, env, cliLines, ['--role', 'clinician', '--ttl', '1s']),
  ]);
  // A refused CLI run whose arguments are markers: its message must not echo them.
  const refusedCli = await runCliProcess(scope, env, ['token', 'issue', '--role', m('role'), '--sub', m('clisub')]);
  cliLines.push(
    ...refusedCli.stderr.split('\n').filter((line) => line !== ''),
    ...refusedCli.stdout.split('\n').filter((line) => line !== ''),
  );
  assert.equal(refusedCli.code, 2, refusedCli.stderr);

  const { responses, patientIds } = await drive(server, m, {
    main: main.access_token,
    device: device.access_token,
    admin: admin.access_token,
    revoked,
    expired,
  });

  assert.ok(server.child.pid !== undefined);
  process.kill(server.child.pid, 'SIGTERM');
  const exit = await server.exited;
  assert.equal(exit.code, 0, server.stderr());
  const verify = await runCliProcess(scope, env, ['audit', 'verify']);
  cliLines.push(...`${verify.stdout}${verify.stderr}`.split('\n').filter((line) => line !== ''));
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);

  const secrets: Record<string, string> = {
    'master key (hex)': keyBytes.toString('hex'),
    'master key (base64)': keyBytes.toString('base64'),
    'master key (base64url)': keyBytes.toString('base64url'),
  };
  for (const [name, issued] of Object.entries({ main, device, admin, revoked, expired })) {
    const [header = '', payload = '', signature = ''] = issued.access_token.split('.');
    Object.assign(secrets, {
      [`${name} token`]: issued.access_token,
      [`${name} token header+payload`]: `${header}.${payload}`,
      [`${name} token payload`]: payload,
      [`${name} token signature`]: signature,
    });
  }
  secrets['webhook secret'] = env.CADUCEUS_ALERT_WEBHOOK_SECRET ?? '';
  if (env.CADUCEUS_PKCS11_PIN !== undefined) secrets['PKCS#11 PIN'] = env.CADUCEUS_PKCS11_PIN;
  const sealed = [
    ...(await sealedCiphertextOf(server.config.keys.keyringPath)),
    ...(await sealedCiphertextOf(path.join(scope.dir, 'kek-keyring.json'))),
  ];
  assert.ok(sealed.length > 0, 'a sealed keyring to scan for');
  sealed.forEach((value, index) => {
    secrets[`sealed keyring ciphertext #${index}`] = value;
  });
  return {
    prefix,
    subjects: [m('sub'), m('devsub')],
    secrets,
    responses,
    patientIds,
    cliLines,
    dataDir: scope.dir,
    serverLines: [...server.stdout],
    serverStderr: server
      .stderr()
      .split('\n')
      .filter((line) => line !== ''),
  };
}

interface Tokens {
  main: string;
  device: string;
  admin: string;
  revoked: IssuedToken;
  expired: IssuedToken;
}

/** The requests, each recorded by name with its status; the expected status is asserted so the scenario cannot silently not happen. */
async function drive(
  server: ServerProcess,
  m: (label: string) => string,
  tokens: Tokens,
): Promise<{ responses: Record<string, Answer>; patientIds: string[] }> {
  const responses: Record<string, Answer> = {};
  // Markers in the headers of every request: a custom header name and value, User-Agent and Referer.
  const common = {
    'user-agent': `Mozilla/5.0 (${m('ua')})`,
    referer: `https://example.org/${m('referer')}?q=${m('refq')}`,
    [`x-${m('hname').toLowerCase()}`]: m('hvalue'),
  };
  const send = async (
    name: string,
    expected: number,
    target: string,
    init: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<HttpsResult> => {
    const headers = {
      ...common,
      ...(init.token !== undefined && { authorization: `Bearer ${init.token}` }),
      ...(init.body !== undefined && { 'content-type': 'application/fhir+json' }),
      ...init.headers,
    };
    const result = await httpsRequest(`${server.url}${target}`, server.ca, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined && { body: init.body }),
    });
    const requestId = result.headers['x-request-id'];
    responses[name] = { status: result.status, requestId: typeof requestId === 'string' ? requestId : undefined };
    assert.equal(result.status, expected, `${name}: ${result.body}`);
    return result;
  };
  const base = '/api/v1/patients';
  const token = tokens.main;

  const created = await send('create', 201, base, { method: 'POST', token, body: patientBody(m, 'v1') });
  const id = String(created.headers.location).split('/').pop() ?? '';
  await send('read', 200, `${base}/${id}`, { token });
  await send('update', 200, `${base}/${id}`, {
    method: 'PUT',
    token,
    headers: { 'if-match': 'W/"1"' },
    body: patientBody(m, 'v2', id),
  });
  await send('update, stale If-Match', 412, `${base}/${id}`, {
    method: 'PUT',
    token,
    headers: { 'if-match': 'W/"1"' },
    body: patientBody(m, 'v3', id),
  });
  await send('history', 200, `${base}/${id}/_history`, { token });
  await send('vread', 200, `${base}/${id}/_history/1`, { token });
  const q = encodeURIComponent;
  await send('search family', 200, `${base}?family=${m('family-v2')}`, { token });
  await send('search given and name', 200, `${base}?given=${m('given')}&name=${m('nametext')}`, { token });
  await send(
    'search identifier',
    200,
    `${base}?identifier=${q(`https://example.org/${m('idsys')}|${m('idval-v2')}`)}`,
    { token },
  );
  await send('search, SQL-looking value', 200, `${base}?family=${q(`' OR 1=1 -- ${m('sqlq')}`)}`, { token });
  await send('search, script-looking value', 200, `${base}?name=${q(`<script>${m('xssq')}</script>`)}`, { token });
  const victim = await send('create second', 201, base, { method: 'POST', token, body: patientBody(m, 'b') });

  await send('invalid JSON', 400, base, {
    method: 'POST',
    token,
    body: `{"resourceType":"Patient","name":[{"family":"${m('badjson')}"`,
  });
  await send('unknown fields', 400, base, {
    method: 'POST',
    token,
    body: JSON.stringify({
      resourceType: 'Patient',
      [m('field')]: m('fieldvalue'),
      name: [{ [m('subfield')]: m('subvalue') }],
    }),
  });
  await send('oversized string', 400, base, {
    method: 'POST',
    token,
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: m('big').repeat(400) }] }),
  });
  await send('forged cursor', 400, `${base}?family=x&_cursor=${m('cursor')}`, { token });
  await send('unknown search parameter', 400, `${base}?${m('param')}=${m('paramvalue')}`, { token });
  await send('unknown read parameter', 400, `${base}/${id}?${m('rparam')}=${m('rvalue')}`, { token });
  // 403, not 404: a clinician reaches only assigned patients, and an unknown id answers alike (docs/access-control.md).
  await send('marker id', 403, `${base}/${m('pathid')}`, { token });
  await send('unknown route', 404, `/api/v1/${m('route')}?${m('k')}=${m('v')}`, { token });
  await send('path parameter too long', 400, `${base}/${m('long').repeat(20)}`, { token });
  await send('null byte', 400, `${base}?family=${m('nul')}%00x`, { token });
  await send('path traversal', 400, `${base}/..%2f${m('traversal')}`, { token });
  await send('unsupported media type', 415, base, {
    method: 'POST',
    token,
    body: patientBody(m, 'ct'),
    headers: { 'content-type': `application/${m('ct')}` },
  });
  await send('junk X-Forwarded-For', 400, base, { token, headers: { 'x-forwarded-for': `${m('xff')}, 127.0.0.1` } });
  const raw = await rawTlsExchange(
    server.url,
    server.ca,
    `GET /${m('raw')}\u0001 HTTP/1.1\r\nHost: localhost\r\nX-Mrk: ${m('rawheader')}\r\n\r\n`,
  );
  responses['malformed request line'] = {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw.text)?.[1] ?? 0),
    requestId: undefined,
  };
  assert.equal(responses['malformed request line'].status, 400, raw.text);

  await send('no token', 401, base);
  await send('garbage token', 401, base, { token: m('garbage') });
  const forged = `eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.${Buffer.from(JSON.stringify({ sub: m('forgedsub'), name: m('forgedname') })).toString('base64url')}.${m('forgedsig')}`;
  await send('forged token', 401, base, { token: forged });
  // The second clinician reaches the record once assigned to it (docs/access-control.md "Care teams").
  await send('assign second clinician', 201, '/api/v1/care-team-assignments', {
    method: 'POST',
    token: tokens.admin,
    body: JSON.stringify({ subject: tokens.revoked.sub, patient: id }),
  });
  await send('valid token before revocation', 200, `${base}/${id}`, { token: tokens.revoked.access_token });
  await revoke(server, tokens.revoked);
  await send('revoked token', 401, `${base}/${id}`, { token: tokens.revoked.access_token });
  const expiresAt = Date.parse(tokens.expired.expires_at);
  if (Date.now() < expiresAt + 1100) await sleep(expiresAt + 1100 - Date.now());
  await send('expired token', 401, `${base}/${id}`, { token: tokens.expired.access_token });
  for (let i = 0; i < 4; i += 1) await send(`forbidden role #${i}`, 403, `${base}/${id}`, { token: tokens.device });
  for (let i = 0; i < 4; i += 1)
    await send(`deny-listed address #${i}`, 403, base, { token, headers: { 'x-forwarded-for': '198.51.100.7' } });
  await send('audit search by subject', 200, `/api/v1/audit-events?subject=${m('sub')}&resourceId=${id}`, {
    token: tokens.admin,
  });
  await send('audit export', 200, `/api/v1/audit-events/_export?subject=${m('sub')}`, { token: tokens.admin });
  await send('alerts', 200, '/api/v1/alerts', { token: tokens.admin });
  for (let i = 0; i < 8; i += 1)
    await send(`flood #${i}`, i < 4 ? 200 : 429, `/ready?${m('flood')}=${i}`, {
      headers: { 'x-forwarded-for': '203.0.113.50' },
    });

  await send('delete', 204, `${base}/${id}`, { method: 'DELETE', token: tokens.admin });
  await send('read after delete', 410, `${base}/${id}`, { token });
  const victimId = String(victim.headers.location).split('/').pop() ?? '';
  corruptLatestVersion(server.config.databaseUrl, victimId);
  await send('corrupted record', 500, `${base}/${victimId}`, { token });
  // No wait for the failing webhook deliveries (retried after 250 and 500 ms): the SIGTERM drain awaits the
  // detector, retries included, before `server.stopped` (monitoring close → settled), and the scan asserts their lines.
  return { responses, patientIds: [id, victimId] };
}

/** Revokes a token by its id through the revocation store, as the identity work's operator command will. */
async function revoke(server: ServerProcess, issued: IssuedToken): Promise<void> {
  const db = await openDatabase(server.config.databaseUrl);
  try {
    await createRevocationStore(db.kv, { retentionMs: 86_400_000 }).revokeToken(
      issued.jti,
      Math.floor(Date.parse(issued.expires_at) / 1000),
    );
  } finally {
    await db.close();
  }
}
