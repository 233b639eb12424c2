/**
 * CR/LF and other control bytes in the request line or a header value never
 * pass Node's parser (llhttp, strict): the 400 it raises must still come in
 * the envelope with X-Request-Id and the security headers, close the
 * connection, and be one `edge.refused` event without the input. Client
 * header values are never reflected into response headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.js';
import { parseRawResponse } from '../helpers/process.js';
import { assertRefusal, listen, rawExchange, rawGet } from './raw-http.js';

const plant = 'Zqxplant';

const malformed: readonly (readonly [string, string])[] = [
  [
    'a bare CR inside a header value',
    `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Note: ${plant}\rSet-Cookie: a=b\r\n\r\n`,
  ],
  [
    'a bare LF inside a header value',
    `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Note: ${plant}\nSet-Cookie: a=b\r\n\r\n`,
  ],
  ['a NUL inside a header value', `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Note: ${plant}\u0000x\r\n\r\n`],
  ['an obsolete folded header line', `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Note: a\r\n ${plant}\r\n\r\n`],
  ['a NUL in the request target', `GET /health/${plant}\u0000 HTTP/1.1\r\nHost: localhost\r\n\r\n`],
  ['a raw tab in the request target', `GET /health/${plant}\t HTTP/1.1\r\nHost: localhost\r\n\r\n`],
  ['a raw DEL in the request target', `GET /health/${plant}\u007f HTTP/1.1\r\nHost: localhost\r\n\r\n`],
  ['a byte above 0x7f in the request target', `GET /health/${plant}\u00e9 HTTP/1.1\r\nHost: localhost\r\n\r\n`],
  ['a CR in the request target', `GET /health/${plant}\r HTTP/1.1\r\nHost: localhost\r\n\r\n`],
];

test('header injection and control bytes are refused by Node with the API envelope and an edge event', async (t) => {
  const h = await build(t);
  const port = await listen(h.app);
  for (const [name, payload] of malformed) {
    const before = h.securityEvents.length;
    const response = parseRawResponse(await rawExchange(port, payload));
    assertRefusal(response, 400, 'BAD_REQUEST');
    assert.equal(response.headers.connection, 'close', name);
    assert.equal(response.headers['set-cookie'], undefined, name);
    assert.ok(!response.body.includes(plant), name);
    const events = h.securityEvents.slice(before);
    assert.deepEqual(
      events.map((event) => [event.kind, event.sourceIp, event.details]),
      [['edge.refused', '127.0.0.1', { rule: 'malformed_request', code: 'BAD_REQUEST' }]],
      name,
    );
  }
  assert.ok(!JSON.stringify(h.securityEvents).includes(plant));
});

test("encoded CR/LF in header values stays text: nothing is reflected, the request id is the server's own", async (t) => {
  const h = await build(t);
  const port = await listen(h.app);
  const response = await rawGet(port, '/health', [
    `X-Request-Id: ${plant}%0d%0aSet-Cookie:%20a=b`,
    `X-Forwarded-For: ${plant}`,
  ]);
  assert.equal(response.status, 200);
  assert.match(response.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/);
  assert.equal(response.headers['set-cookie'], undefined);
  assert.ok(!JSON.stringify(response).includes(plant));
  // Odd but well-formed header text is no edge event.
  assert.deepEqual(h.securityEvents, []);
});
