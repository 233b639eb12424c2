/**
 * CADUCEUS_MAX_CONNECTIONS_PER_IP (docs/edge.md "Connections"): a peer's
 * connections beyond the limit are closed before they cost a request (or a
 * TLS handshake), the open ones keep working, a closed one frees its slot,
 * and one `edge.refused` event reports the episode. Trusted proxies are
 * exempt. Real listening servers and raw sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../helpers/app.js';
import { caduceusEnv, parseRawResponse, processScope, startInProcess } from '../helpers/process.js';
import { listen, openSocket } from './raw-http.js';

const quiet = { CADUCEUS_AUDIT_CHECKPOINT_MS: '86400000' };

/** Sends a keep-alive GET /health on an open socket and resolves with the status, or null when the server closes it instead. */
function healthOn(socket: Socket): Promise<number | null> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (text.includes('\r\n\r\n') && text.endsWith('}')) {
        cleanup();
        resolve(parseRawResponse(text).status);
      }
    };
    const onClose = (): void => {
      cleanup();
      resolve(text === '' ? null : parseRawResponse(text).status);
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined);
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
  });
}

/** Retries `attempt` until it yields `expected`: the server learns of a client's close a moment after the client does. */
async function eventually<T>(attempt: () => Promise<T>, expected: T, tries = 50): Promise<T> {
  let last = await attempt();
  for (let i = 1; i < tries && last !== expected; i += 1) {
    await sleep(20);
    last = await attempt();
  }
  return last;
}

test('connections beyond the per-address limit are closed unanswered; the open ones keep working; a closed one frees a slot', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_MAX_CONNECTIONS_PER_IP: '3' } });
  const port = await listen(h.app);
  const held = [await openSocket(port), await openSocket(port), await openSocket(port)];
  t.after(() => {
    for (const socket of held) socket.destroy();
  });
  for (const socket of held) assert.equal(await healthOn(socket), 200);

  assert.equal(await healthOn(await openSocket(port)), null, 'the fourth connection is closed without an answer');
  assert.equal(await healthOn(await openSocket(port)), null, 'and so is the fifth');
  // One event for the episode, naming the rule and the peer, nothing else.
  const refused = h.securityEvents.filter((event) => event.kind === 'edge.refused');
  assert.deepEqual(
    refused.map((event) => [event.sourceIp, event.details]),
    [['127.0.0.1', { rule: 'connection_limit', limit: 3 }]],
  );

  // The held connections still serve requests.
  assert.equal(await healthOn(held[0]!), 200);
  held[0]!.destroy();
  const status = await eventually(async () => {
    const socket = await openSocket(port);
    held.push(socket);
    return healthOn(socket);
  }, 200);
  assert.equal(status, 200, 'a slot freed by a close is usable again');
});

test('a trusted proxy is not limited: its connections carry many clients', async (t) => {
  const h = await build(t, {
    env: { ...quiet, CADUCEUS_MAX_CONNECTIONS_PER_IP: '2', CADUCEUS_TRUSTED_PROXIES: '127.0.0.1' },
  });
  const port = await listen(h.app);
  const held = await Promise.all(Array.from({ length: 5 }, () => openSocket(port)));
  t.after(() => {
    for (const socket of held) socket.destroy();
  });
  for (const socket of held) assert.equal(await healthOn(socket), 200);
  assert.deepEqual(h.securityEvents, []);
});

test('with CADUCEUS_MAX_CONNECTIONS_PER_IP=0 there is no limit', async (t) => {
  const h = await build(t, { env: { ...quiet, CADUCEUS_MAX_CONNECTIONS_PER_IP: '0' } });
  const port = await listen(h.app);
  const held = await Promise.all(Array.from({ length: 12 }, () => openSocket(port)));
  t.after(() => {
    for (const socket of held) socket.destroy();
  });
  for (const socket of held) assert.equal(await healthOn(socket), 200);
});

/** Opens a TLS connection; resolves 'connected' after the handshake or 'refused' when the server drops it first. */
function tlsAttempt(port: number, ca: Buffer, open: { destroy(): void }[]): Promise<'connected' | 'refused'> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve('connected');
    });
    open.push(socket);
    socket.on('error', () => {
      resolve('refused');
    });
    socket.on('close', () => {
      resolve('refused');
    });
  });
}

test('on the real TLS listener the limit applies before the handshake', async (t) => {
  const scope = await processScope(t);
  const server = await startInProcess(scope, caduceusEnv(scope.dir, { CADUCEUS_MAX_CONNECTIONS_PER_IP: '2' }));
  const port = Number(new URL(server.url).port);
  const open: { destroy(): void }[] = [];
  scope.defer(() => {
    for (const socket of open) socket.destroy();
  });
  assert.equal(await tlsAttempt(port, server.ca, open), 'connected');
  assert.equal(await tlsAttempt(port, server.ca, open), 'connected');
  assert.equal(await tlsAttempt(port, server.ca, open), 'refused');
});
