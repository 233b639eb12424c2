/**
 * Raw HTTP/1.1 against an app listening on 127.0.0.1 without TLS: the
 * request target and headers go out byte for byte (app.inject and fetch
 * normalise `%2e%2e` and refuse control characters before sending).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { parseRawResponse, securityHeaderValues, type RawResponse } from '../helpers/process.js';

/** Starts `app` on a free loopback port; `build(t)` closes it after the test. */
export async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** Writes `payload` (latin1, so every byte is as written) and collects everything until the server closes. */
export function rawExchange(port: number, payload: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(Buffer.from(payload, 'latin1'));
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no close from the server'));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    socket.on('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** One GET of `target` (written as is) with extra header lines, on its own connection. */
export async function rawGet(port: number, target: string, headers: readonly string[] = []): Promise<RawResponse> {
  const head = [`GET ${target} HTTP/1.1`, 'Host: localhost', ...headers, 'Connection: close'].join('\r\n');
  return parseRawResponse(await rawExchange(port, `${head}\r\n\r\n`));
}

/** Opens a connection and resolves once it is established. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The parsed envelope of a refusal, after checking its shape, request id and security headers. */
export function assertRefusal(
  response: RawResponse | { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
): { code: string; message: string; requestId: string } {
  const actual = 'status' in response ? response.status : response.statusCode;
  assert.equal(actual, status, response.body.slice(0, 300));
  const headers = response.headers as Record<string, unknown>;
  assert.match(String(headers['content-type']), /^application\/json/);
  const parsed = JSON.parse(response.body) as { error: { code: string; message: string; requestId: string } };
  assert.deepEqual(Object.keys(parsed), ['error']);
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'message', 'requestId']);
  assert.equal(parsed.error.code, code);
  assert.match(parsed.error.requestId, /^[0-9a-f]{32}$/);
  assert.equal(headers['x-request-id'], parsed.error.requestId);
  for (const [name, value] of Object.entries(securityHeaderValues)) assert.equal(headers[name], value, name);
  return parsed.error;
}
