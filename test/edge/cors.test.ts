/**
 * CORS by exact origin allow-list (docs/access-control.md "CORS",
 * CADUCEUS_CORS_ORIGINS): listed origins get their own origin back, on
 * errors too; unlisted ones get no CORS header at all; preflights are
 * answered before authentication; never a wildcard, never credentials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { build } from '../helpers/app.js';

const origins = 'https://app.example.org,http://localhost:5173';
const base = '/api/v1/patients';

function corsHeaders(res: LightMyRequestResponse): string[] {
  return Object.keys(res.headers)
    .filter((name) => name.startsWith('access-control-'))
    .sort();
}

test('a listed origin gets exactly its origin back, on success and on errors, never credentials', async (t) => {
  const h = await build(t, { env: { CADUCEUS_CORS_ORIGINS: origins } });
  const token = await h.token('admin');
  for (const origin of ['https://app.example.org', 'http://localhost:5173']) {
    for (const [headers, status] of [
      [{ authorization: `Bearer ${token}` }, 200],
      [{}, 401],
    ] as const) {
      const res = await h.app.inject({ method: 'GET', url: base, headers: { ...headers, origin } });
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.match(
        String(res.headers['access-control-expose-headers']),
        /ETag, Location, .*X-Request-Id, WWW-Authenticate/,
      );
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
      assert.match(String(res.headers.vary), /\bOrigin\b/);
    }
  }
});

test('an unlisted origin gets no CORS header: near misses included', async (t) => {
  const h = await build(t, { env: { CADUCEUS_CORS_ORIGINS: origins } });
  const token = await h.token('admin');
  for (const origin of [
    'https://evil.example',
    'https://app.example.org.evil.example',
    'http://app.example.org',
    'https://app.example.org:8443',
    'https://APP.example.org',
    'null',
    '*',
  ]) {
    const res = await h.app.inject({ method: 'GET', url: base, headers: { authorization: `Bearer ${token}`, origin } });
    assert.equal(res.statusCode, 200, origin);
    assert.deepEqual(corsHeaders(res), [], origin);
    assert.match(String(res.headers.vary), /\bOrigin\b/, 'the answer varies by Origin');
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: base,
      headers: { origin, 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.statusCode, 403, origin);
    assert.equal(preflight.json<{ error: { code: string } }>().error.code, 'FORBIDDEN');
    assert.deepEqual(corsHeaders(preflight), [], `${origin} preflight`);
  }
});

test("a listed origin's preflight is answered 204 before authentication, with what the API allows", async (t) => {
  const h = await build(t, { env: { CADUCEUS_CORS_ORIGINS: origins } });
  const res = await h.app.inject({
    method: 'OPTIONS',
    url: `${base}/some-id`,
    headers: {
      origin: 'https://app.example.org',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'authorization, content-type, if-match',
    },
  });
  assert.equal(res.statusCode, 204, res.body);
  assert.equal(res.body, '');
  assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.org');
  assert.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, DELETE');
  assert.equal(res.headers['access-control-allow-headers'], 'Authorization, Content-Type, If-Match, Accept');
  assert.equal(res.headers['access-control-max-age'], '600');
  assert.equal(res.headers['access-control-allow-credentials'], undefined);
  assert.match(String(res.headers.vary), /Origin.*Access-Control-Request-Method/);
  // The seed's security headers still ride on it.
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  // A plain OPTIONS (no preflight) is not CORS: the 405 of the path, as without an allow-list.
  const plain = await h.app.inject({ method: 'OPTIONS', url: base, headers: { origin: 'https://app.example.org' } });
  assert.equal(plain.statusCode, 405);
  assert.equal(plain.headers['access-control-allow-origin'], 'https://app.example.org');
});

test('without CADUCEUS_CORS_ORIGINS no CORS header is ever sent, and a preflight is no exception', async (t) => {
  const h = await build(t);
  const get = await h.app.inject({
    method: 'GET',
    url: base,
    headers: { authorization: `Bearer ${await h.token('admin')}`, origin: 'https://app.example.org' },
  });
  assert.deepEqual(corsHeaders(get), []);
  assert.equal(get.headers.vary, undefined);
  const preflight = await h.app.inject({
    method: 'OPTIONS',
    url: base,
    headers: { origin: 'https://app.example.org', 'access-control-request-method': 'GET' },
  });
  assert.deepEqual(corsHeaders(preflight), []);
  assert.equal(preflight.statusCode, 405);
});

test('the setting takes exact origins only: no wildcard, path or null; https in production but for loopback', () => {
  for (const value of [
    '*',
    'https://*.example.org',
    'https://app.example.org/',
    'https://app.example.org/path',
    'null',
    'zq.example.org',
    'ftp://files.example.org',
    'https://a.org,,https://b.org',
  ]) {
    assert.throws(
      () => loadConfig({ CADUCEUS_CORS_ORIGINS: value }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes(value),
      value,
    );
  }
  assert.deepEqual(loadConfig({ CADUCEUS_CORS_ORIGINS: 'https://a.org, https://b.org:8443' }).cors.allowedOrigins, [
    'https://a.org',
    'https://b.org:8443',
  ]);
  assert.deepEqual(loadConfig({}).cors.allowedOrigins, []);
  const production = { CADUCEUS_ENV: 'production', CADUCEUS_MASTER_KEY: 'c0ffee'.repeat(10) + 'c0de' };
  assert.throws(() => loadConfig({ ...production, CADUCEUS_CORS_ORIGINS: 'http://app.example.org' }), ConfigError);
  assert.deepEqual(loadConfig({ ...production, CADUCEUS_CORS_ORIGINS: 'http://localhost:5173' }).cors.allowedOrigins, [
    'http://localhost:5173',
  ]);
});
