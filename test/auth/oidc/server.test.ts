/**
 * The real server (startServer, HTTPS on a socket) serves the provider:
 * discovery, an RFC 6749 error from the token endpoint read off a real TLS
 * connection (Koa reads the form body Fastify left alone), our security
 * headers on both, and the SMART configuration.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  securityHeaderValues,
  startInProcess,
} from '../../helpers/process.js';

test('the HTTPS server mounts the authorization server with our headers and RFC 6749 errors', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir));
  const discovery = await httpsRequest(`${server.url}/.well-known/openid-configuration`, server.ca);
  assert.equal(discovery.status, 200);
  const document = JSON.parse(discovery.body) as Record<string, unknown>;
  assert.equal(document.issuer, server.config.auth.issuer);
  assert.deepEqual(document.code_challenge_methods_supported, ['S256']);
  for (const [name, value] of Object.entries(securityHeaderValues)) assert.equal(discovery.headers[name], value, name);
  const token = await httpsRequest(`${server.url}/token`, server.ca, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=nobody&client_secret=x',
  });
  assert.equal(token.status, 401);
  assert.equal((JSON.parse(token.body) as Record<string, unknown>).error, 'invalid_client');
  for (const [name, value] of Object.entries(securityHeaderValues)) assert.equal(token.headers[name], value, name);
  const smart = await httpsRequest(`${server.url}/api/v1/.well-known/smart-configuration`, server.ca);
  assert.equal(smart.status, 200);
  assert.deepEqual((JSON.parse(smart.body) as Record<string, unknown>).code_challenge_methods_supported, ['S256']);
});
