/**
 * The server as an operator runs it: health over HTTPS, README's "A first
 * authenticated request" with the CLI in a second process, graceful stop
 * under load, SIGTERM, and the start-up lines (never a token in stdout).
 */
import { Agent, request } from 'node:https';
import { until } from '../helpers/until.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditSnapshot,
  caduceusEnv,
  httpsRequest,
  jwtPattern,
  parseJsonLine,
  processScope,
  runCliProcess,
  securityHeaderValues,
  signToken,
  spawnServer,
  startInProcess,
  type AuditSnapshot,
  type HttpsResult,
  type ServerProcess,
} from '../helpers/process.js';

/** README's example patient, verbatim. */
const chalmers =
  '{"resourceType":"Patient","name":[{"family":"Chalmers","given":["Peter"]}],"gender":"male","birthDate":"1974-12-25"}';

function fhirJson(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
}

function envelopeCode(result: HttpsResult): string {
  return (JSON.parse(result.body) as { error: { code: string } }).error.code;
}

/** Every writer ended with its close checkpoint and nothing is bad. */
function assertAllClosed(snapshot: AuditSnapshot): void {
  assert.equal(snapshot.report.ok, true, JSON.stringify(snapshot.report.firstBad));
  assert.ok(snapshot.report.writers.length > 0);
  for (const writer of snapshot.report.writers) assert.equal(writer.status, 'closed', writer.writerId);
}

/** Sends SIGTERM to the child by its pid; resolves with its exit code, rejecting after `withinMs`. */
async function terminate(server: ServerProcess, withinMs: number): Promise<number | null> {
  const started = Date.now();
  assert.ok(server.child.pid !== undefined);
  process.kill(server.child.pid, 'SIGTERM');
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => {
      reject(new Error(`no exit within ${withinMs} ms`));
    }, withinMs).unref(),
  );
  const exit = await Promise.race([server.exited, timeout]);
  assert.ok(Date.now() - started < withinMs);
  assert.equal(exit.signal, null, 'killed by the signal instead of exiting');
  return exit.code;
}

function events(lines: readonly string[], event: string): Record<string, unknown>[] {
  return lines.map(parseJsonLine).filter((line) => line?.event === event) as Record<string, unknown>[];
}

test('GET /health and /ready answer over HTTPS without a token, with the security headers', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  for (const [route, body] of [
    ['/health', { status: 'ok' }],
    ['/ready', { status: 'ready' }],
  ] as const) {
    const result = await httpsRequest(`${server.url}${route}`, server.ca);
    assert.equal(result.status, 200, route);
    assert.deepEqual(JSON.parse(result.body), body);
    assert.match(String(result.headers['x-request-id']), /^[0-9a-f]{32}$/);
    for (const [name, value] of Object.entries(securityHeaderValues))
      assert.equal(result.headers[name], value, `${route} ${name}`);
  }
});

test("README's first authenticated request: CLI token, create, read with and without the token", async (t) => {
  const scope = await processScope(t);
  const env = caduceusEnv(scope.dir, { CADUCEUS_LOG_LEVEL: 'info' });
  const server = await spawnServer(scope, env);

  const issued = await runCliProcess(scope, env, ['token', 'issue', '--role', 'clinician']);
  assert.equal(issued.code, 0, issued.stderr);
  const token = issued.stdout.trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'stdout must be the token alone (TOKEN=$(...))');

  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    headers: fhirJson(token),
    body: chalmers,
  });
  assert.equal(created.status, 201, created.body);
  assert.equal(created.headers.etag, 'W/"1"');
  const location = new URL(String(created.headers.location), server.url);
  assert.match(location.pathname, /^\/api\/v1\/patients\/[A-Za-z0-9\-.]{1,64}$/);

  const read = await httpsRequest(location.href, server.ca, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(read.status, 200, read.body);
  const patient = JSON.parse(read.body) as { resourceType: string; id: string; name: { family: string }[] };
  assert.equal(patient.resourceType, 'Patient');
  assert.equal(location.pathname.endsWith(`/${patient.id}`), true);
  assert.equal(patient.name[0]?.family, 'Chalmers');

  const anonymous = await httpsRequest(location.href, server.ca);
  assert.equal(anonymous.status, 401);
  assert.equal(envelopeCode(anonymous), 'AUTH_ERROR');
  assert.match(String(anonymous.headers['www-authenticate']), /^Bearer/);
  assert.ok(!anonymous.body.includes('Chalmers'));
});

test('stop() while 50 GETs are in flight: every request gets a complete 200 or 503, the audit log closes and verifies', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  const token = await signToken(server.config, 'clinician');
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    headers: fhirJson(token),
    body: chalmers,
  });
  assert.equal(created.status, 201);
  const location = new URL(String(created.headers.location), server.url).href;

  // Stop once the server has received all 50 (none can then be refused as a new connection);
  // the last one at least is still running then, since every API request awaits its audit event.
  let received = 0;
  let finished = 0;
  let inFlightAtStop = -1;
  let stopped: Promise<void> | undefined;
  server.app.server.on('request', (_request, response: { once(event: 'finish', listener: () => void): void }) => {
    received += 1;
    response.once('finish', () => {
      finished += 1;
    });
    if (received === 50) {
      inFlightAtStop = received - finished;
      stopped = server.stop();
    }
  });
  const results = await Promise.allSettled(
    Array.from({ length: 50 }, () =>
      httpsRequest(location, server.ca, { headers: { authorization: `Bearer ${token}` } }),
    ),
  );
  assert.ok(stopped !== undefined, 'stop() was never called');
  await stopped;
  assert.ok(inFlightAtStop >= 1, `in flight at stop: ${inFlightAtStop}`);

  const socketErrors = results.filter((result) => result.status === 'rejected').map((result) => String(result.reason));
  assert.deepEqual(socketErrors, []);
  const responses = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  for (const response of responses) {
    assert.ok(response.status === 200 || response.status === 503, `status ${response.status}`);
    const body = JSON.parse(response.body) as { resourceType?: string; error?: { code: string } };
    if (response.status === 200) assert.equal(body.resourceType, 'Patient');
    else assert.equal(body.error?.code, 'SERVICE_UNAVAILABLE');
  }

  const snapshot = await auditSnapshot(server.config);
  assertAllClosed(snapshot);
  const reads = snapshot.rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as { action: { interaction: string }; outcome: { status: number } })
    .filter((event) => event.action.interaction === 'read' && event.outcome.status === 200);
  // Every 200 the clients got has its durable audit event (DESIGN.md: durable before the response leaves).
  assert.equal(reads.length, responses.filter((response) => response.status === 200).length);
});

test('SIGTERM: exit code 0 within seconds, a verifiable audit log, the first-request hint, and no token in any stdout line', async (t) => {
  const scope = await processScope(t);
  // debug adds a line per request, so the scan below covers request lines too.
  const env = caduceusEnv(scope.dir, { CADUCEUS_LOG_LEVEL: 'debug' });
  const server = await spawnServer(scope, env);
  const hints = events(server.stdout, 'server.first_request_hint');
  assert.equal(hints.length, 1, server.stdout.join('\n'));
  assert.match(String(hints[0]?.msg), /token issue --role clinician/);

  const token = await signToken(server.config, 'clinician');
  const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
    method: 'POST',
    headers: fhirJson(token),
    body: chalmers,
  });
  assert.equal(created.status, 201);
  const location = new URL(String(created.headers.location), server.url).href;
  assert.equal(
    (await httpsRequest(location, server.ca, { headers: { authorization: `Bearer ${token}` } })).status,
    200,
  );
  const forged = `${token.slice(0, -4)}AAAA`;
  assert.equal(
    (await httpsRequest(location, server.ca, { headers: { authorization: `Bearer ${forged}` } })).status,
    401,
  );
  assert.equal(
    (
      await httpsRequest(`${server.url}/api/v1/nothing?family=Chalmers`, server.ca, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status,
    404,
  );

  assert.equal(await terminate(server, 5000), 0);
  assert.equal(events(server.stdout, 'server.stopped').length, 1);
  assert.ok(
    server.stdout.some((line) => parseJsonLine(line)?.route === '/api/v1/patients/:id'),
    'debug request lines were not logged',
  );
  for (const line of [...server.stdout, server.stderr()]) {
    assert.doesNotMatch(line, jwtPattern);
    assert.ok(!line.includes('Chalmers'), 'PHI in the operator log');
  }
  assertAllClosed(await auditSnapshot(server.config));

  // A database with a patient gets no hint on the next start.
  const again = await spawnServer(scope, env);
  assert.equal(events(again.stdout, 'server.listening').length, 1);
  assert.equal(events(again.stdout, 'server.first_request_hint').length, 0);
  assert.equal(await terminate(again, 5000), 0);
  assertAllClosed(await auditSnapshot(again.config));
});

/** How one request on a kept-alive agent ended: its status and Connection header, or the transport error; and whether it went out on a reused connection. */
type KeptAliveAnswer = { readonly reused: boolean } & ({ status: number; connection: string } | { error: string });

/** One GET of `/health` on `agent` (a kept-alive socket when one is free). */
function getOn(agent: Agent, url: string, ca: Buffer): Promise<KeptAliveAnswer> {
  return new Promise((resolve) => {
    const target = new URL('/health', url);
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port: Number(target.port), path: target.pathname, ca, agent },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve({
            reused: req.reusedSocket,
            status: res.statusCode ?? 0,
            connection: String(res.headers.connection),
          });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ reused: req.reusedSocket, error: error.code ?? error.message });
    });
    req.end();
  });
}

test('SIGTERM under keep-alive load: every request sent on a kept-alive connection is answered (200, or 503 with Connection: close), none is reset', async (t) => {
  const scope = await processScope(t);
  const server = await spawnServer(
    scope,
    caduceusEnv(scope.dir, {
      CADUCEUS_LOG_LEVEL: 'info',
      CADUCEUS_SHUTDOWN_DRAIN_MS: '1000',
      CADUCEUS_RATE_LIMIT: 'off',
    }),
  );
  const clients = 12;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  t.after(() => {
    agent.destroy();
  });
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  // Each client sends its next request as soon as the last is answered, across the signal and until the process is
  // gone (bounded): a connection is idle only between two of them, which is when closing servers used to cut it.
  const answers: KeptAliveAnswer[] = [];
  const client = async (): Promise<void> => {
    for (let i = 0; i < 5_000 && !exited; i += 1) {
      const answer = await getOn(agent, server.url, server.ca);
      answers.push(answer);
      if ('error' in answer && !answer.reused) return; // a fresh connection refused: the listener is closed
    }
  };
  const load = Array.from({ length: clients }, client);
  await until(() => answers.length >= clients * 5, 10_000, 'the keep-alive load to run');
  assert.ok(server.child.pid !== undefined);
  process.kill(server.child.pid, 'SIGTERM');
  await Promise.all(load);
  assert.equal((await server.exited).code, 0);
  const reset = answers.filter((answer) => answer.reused && 'error' in answer);
  assert.deepEqual(reset, [], 'requests on kept-alive connections were cut instead of answered');
  for (const answer of answers) {
    if ('status' in answer && answer.status !== 200)
      assert.deepEqual(answer, { reused: answer.reused, status: 503, connection: 'close' });
  }
  assert.ok(
    answers.some((answer) => 'status' in answer && answer.status === 503),
    'no request reached the drain',
  );
});
