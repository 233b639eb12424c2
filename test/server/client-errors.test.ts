/**
 * Requests Node refuses before Fastify routes them, sent on raw TLS sockets
 * to the real listener: each must get the API envelope, X-Request-Id and the
 * security headers (docs/errors.md, docs/security-headers.md), then a close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditSnapshot,
  caduceusEnv,
  configFor,
  parseRawResponse,
  processScope,
  rawTlsExchange,
  securityHeaderValues,
  signToken,
  startInProcess,
  type InProcessServer,
  type ProcessScope,
  type RawResponse,
} from '../helpers/process.js';

const limits = {
  CADUCEUS_HEADER_LIMIT_BYTES: '2048',
  CADUCEUS_HEADERS_TIMEOUT_MS: '500',
  CADUCEUS_REQUEST_TIMEOUT_MS: '1000',
};

async function limitedServer(scope: ProcessScope): Promise<InProcessServer> {
  const env = caduceusEnv(scope.dir, limits);
  // The values above are within the config's minimums (not clamped or refused).
  const config = configFor(env);
  assert.equal(config.limits.headerBytes, 2048);
  assert.equal(config.limits.headersTimeoutMs, 500);
  assert.equal(config.limits.requestTimeoutMs, 1000);
  return startInProcess(scope, env);
}

/** Asserts the envelope, its request id and every security header; returns the parsed response. */
function assertEnvelope(text: string, status: number, code: string): RawResponse {
  const response = parseRawResponse(text);
  assert.equal(response.status, status, text.slice(0, 200));
  assert.match(response.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(Number(response.headers['content-length']), Buffer.byteLength(response.body));
  const parsed = JSON.parse(response.body) as { error: { code: string; message: string; requestId: string } };
  assert.deepEqual(Object.keys(parsed), ['error']);
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'message', 'requestId']);
  assert.equal(parsed.error.code, code);
  assert.ok(parsed.error.message.length > 0);
  assert.match(parsed.error.requestId, /^[0-9a-f]{32}$/);
  assert.equal(response.headers['x-request-id'], parsed.error.requestId);
  for (const [name, value] of Object.entries(securityHeaderValues)) assert.equal(response.headers[name], value, name);
  assert.equal(response.headers['x-powered-by'], undefined);
  assert.equal(response.headers.server, undefined);
  assert.equal(response.headers.connection, 'close');
  return response;
}

test('a malformed request line gets 400 BAD_REQUEST in the envelope with the security headers', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  const { text } = await rawTlsExchange(server.url, server.ca, 'GARBAGE\r\n\r\n');
  assertEnvelope(text, 400, 'BAD_REQUEST');
});

test('request smuggling shapes are refused before routing: Content-Length with Transfer-Encoding, a space in a header name', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  const both =
    'POST /api/v1/patients HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
  assertEnvelope((await rawTlsExchange(server.url, server.ca, both)).text, 400, 'BAD_REQUEST');
  const spaced = 'GET /health HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n';
  assertEnvelope((await rawTlsExchange(server.url, server.ca, spaced)).text, 400, 'BAD_REQUEST');
});

test('a header block larger than CADUCEUS_HEADER_LIMIT_BYTES gets 431 HEADERS_TOO_LARGE', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  // Under the limit the same route answers normally: the limit, not the route, refuses.
  const small = await rawTlsExchange(
    server.url,
    server.ca,
    `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'a'.repeat(512)}\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(parseRawResponse(small.text).status, 200);
  const big = `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'a'.repeat(4096)}\r\n\r\n`;
  const response = assertEnvelope((await rawTlsExchange(server.url, server.ca, big)).text, 431, 'HEADERS_TOO_LARGE');
  assert.ok(!response.body.includes('a'.repeat(64)), 'the envelope echoes the input');
});

test('a request line longer than the header limit is refused with the envelope (Node reports it as header overflow)', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  // llhttp counts the request line against maxHeaderSize and raises HPE_HEADER_OVERFLOW, so the answer is 431, not 414.
  const { text } = await rawTlsExchange(
    server.url,
    server.ca,
    `GET /health?q=${'b'.repeat(4096)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
  );
  assertEnvelope(text, 431, 'HEADERS_TOO_LARGE');
});

/** Slow-client requests: headers never finished, and (with a valid token) a body never finished. */
function slowRequests(token: string): { headers: string; body: string } {
  return {
    headers: 'GET /health HTTP/1.1\r\nHost: localhost\r\n',
    body: `POST /api/v1/patients HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{"resourceType"`,
  };
}

test('a slow client gets 408 REQUEST_TIMEOUT within a few seconds of the configured timeouts', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  const slow = slowRequests(await signToken(server.config, 'clinician'));
  const results = await Promise.all([
    rawTlsExchange(server.url, server.ca, slow.headers, 5000),
    rawTlsExchange(server.url, server.ca, slow.body, 5000),
  ]);
  for (const { text, ms } of results) {
    assertEnvelope(text, 408, 'REQUEST_TIMEOUT');
    assert.ok(ms >= 450, `answered after ${ms} ms, before the timeout`);
  }
});

test('a response sent before the body arrived (401) is the only response on its connection', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  const noToken =
    'POST /api/v1/patients HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{"resourceType"';
  const { text } = await rawTlsExchange(server.url, server.ca, noToken, 5000);
  assert.equal(text.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, text);
  assert.equal(parseRawResponse(text).status, 401);
});

test('a request that timed out after authentication is audited as the 408 the client got, under its request id', async (t) => {
  const scope = await processScope(t);
  const server = await limitedServer(scope);
  const slow = slowRequests(await signToken(server.config, 'clinician'));
  const response = assertEnvelope(
    (await rawTlsExchange(server.url, server.ca, slow.body, 5000)).text,
    408,
    'REQUEST_TIMEOUT',
  );
  await server.stop();
  const { rows } = await auditSnapshot(server.config);
  const events = rows
    .filter((row) => row.kind === 'event')
    .map((row) => JSON.parse(row.payload) as { requestId: string; outcome: { status: number; code: string | null } });
  const [event] = events;
  assert.equal(events.length, 1);
  assert.ok(event !== undefined);
  assert.deepEqual(event.outcome, { status: 408, code: 'REQUEST_TIMEOUT' });
  assert.equal(event.requestId, response.headers['x-request-id']);
});
