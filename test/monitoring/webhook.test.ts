import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { generate } from 'selfsigned';
import { pino } from 'pino';
import { loadConfig, type CidrBlock } from '../../src/config/index.js';
import { parseCidrList } from '../../src/lib/cidr.js';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import type { Alert } from '../../src/storage/alerts.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { createWebhookSink } from '../../src/monitoring/sinks/webhook.js';

/** An allow-list as the config loader parses it. */
function cidr(list: string): CidrBlock[] {
  const blocks = parseCidrList(list);
  assert.ok(blocks);
  return blocks;
}

const secret = 'a-webhook-secret-of-at-least-32-characters!';

const alert: Alert = {
  id: '0123456789abcdef0123456789abcdef',
  kind: 'repeated_forbidden',
  severity: 'medium',
  time: '2025-01-14T10:00:00.000Z',
  subject: 'prober',
  sourceIp: '192.0.2.1',
  summary: '10 forbidden requests from one user within 5m (threshold 10)',
  details: { count: 10, threshold: 10, windowSeconds: 300 },
  requestIds: ['fedcba9876543210fedcba9876543210'],
};

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A local HTTPS receiver with a fresh self-signed certificate for 127.0.0.1; answers the given statuses in turn. */
async function receiver(
  t: TestContext,
  statuses: number[] = [204],
): Promise<{ url: string; cert: string; received: Received[] }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const received: Received[] = [];
  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString() });
      response.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 204;
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.close();
  });
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/caduceus?team=sec`,
    cert: pems.cert,
    received,
  };
}

function breakerFor(): ReturnType<ReturnType<typeof createBreakers>['create']> {
  const breakers = createBreakers(createSecurityEvents(pino({ level: 'silent' })));
  return breakers.create({ name: 'alert-webhook', timeoutMs: 5000, resetMs: 30_000 });
}

test('webhook: the alert arrives as JSON with a Caduceus-Signature the receiver can verify', async (t) => {
  const target = await receiver(t);
  const clock = () => Date.parse('2025-01-14T10:00:05Z');
  const sink = createWebhookSink({
    url: target.url,
    secret,
    allow: cidr('127.0.0.1'),
    breaker: breakerFor(),
    ca: target.cert,
    clock,
  });
  await sink.deliver(alert);
  assert.equal(target.received.length, 1);
  const [delivery] = target.received;
  assert.deepEqual(JSON.parse(delivery!.body), alert);
  assert.equal(delivery!.headers['content-type'], 'application/json');
  assert.equal(delivery!.headers['caduceus-alert-id'], alert.id);
  // The receiver's recipe (docs/monitoring.md): split t and v1, HMAC "t.body", compare in constant time, check t is recent.
  const header = String(delivery!.headers['caduceus-signature']);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  assert.ok(match, 'header shape');
  assert.equal(Number(match[1]), Math.floor(clock() / 1000));
  const expected = createHmac('sha256', secret).update(`${match[1]!}.${delivery!.body}`).digest();
  assert.ok(timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')));
  const forged = createHmac('sha256', 'another secret').update(`${match[1]!}.${delivery!.body}`).digest();
  assert.ok(!timingSafeEqual(forged, Buffer.from(match[2]!, 'hex')));
});

test('webhook: a 5xx is retried a bounded number of times, a 4xx is not retried', async (t) => {
  const flaky = await receiver(t, [503, 204]);
  await createWebhookSink({
    url: flaky.url,
    secret,
    allow: cidr('127.0.0.0/8'),
    breaker: breakerFor(),
    ca: flaky.cert,
    backoffMs: 10,
  }).deliver(alert);
  assert.equal(flaky.received.length, 2);
  const down = await receiver(t, [500]);
  await assert.rejects(
    createWebhookSink({
      url: down.url,
      secret,
      allow: cidr('127.0.0.1'),
      breaker: breakerFor(),
      ca: down.cert,
      backoffMs: 10,
      retries: 2,
    }).deliver(alert),
    { name: 'WebhookDeliveryError' },
  );
  assert.equal(down.received.length, 3, 'first attempt and two retries');
  const refusing = await receiver(t, [401]);
  await assert.rejects(
    createWebhookSink({
      url: refusing.url,
      secret,
      allow: cidr('127.0.0.1'),
      breaker: breakerFor(),
      ca: refusing.cert,
      backoffMs: 10,
    }).deliver(alert),
    /answered 401/,
  );
  assert.equal(refusing.received.length, 1);
});

test('webhook: a loopback target that is not allow-listed is refused before any connection; so is http://', async (t) => {
  const target = await receiver(t);
  const refused = createWebhookSink({ url: target.url, secret, breaker: breakerFor(), ca: target.cert });
  await assert.rejects(
    refused.deliver(alert),
    (error: Error) => error.name === 'WebhookTargetError' && !error.message.includes('127.0.0.1'),
  );
  const otherNetwork = createWebhookSink({
    url: target.url,
    secret,
    allow: cidr('10.0.0.0/8'),
    breaker: breakerFor(),
    ca: target.cert,
  });
  await assert.rejects(otherNetwork.deliver(alert), { name: 'WebhookTargetError' });
  const byName = createWebhookSink({
    url: target.url.replace('127.0.0.1', 'localhost'),
    secret,
    breaker: breakerFor(),
    ca: target.cert,
  });
  await assert.rejects(
    byName.deliver(alert),
    { name: 'WebhookTargetError' },
    'a name that resolves to loopback is refused too',
  );
  // Allowed, but the certificate is not trusted: TLS verification stays on.
  await assert.rejects(
    createWebhookSink({ url: target.url, secret, allow: cidr('127.0.0.1'), breaker: breakerFor(), retries: 0 }).deliver(
      alert,
    ),
    { name: 'WebhookDeliveryError' },
  );
  assert.equal(target.received.length, 0);
  assert.throws(
    () =>
      createWebhookSink({
        url: target.url.replace('https:', 'http:'),
        secret,
        allow: cidr('127.0.0.1'),
        breaker: breakerFor(),
      }),
    { name: 'WebhookTargetError' },
  );
});

test('webhook settings: https only, no credentials in the URL, a long secret, valid allow-list entries; errors never echo values', () => {
  const load = (env: Record<string, string>) => () => loadConfig({ CADUCEUS_DATA_DIR: '/tmp/x', ...env }, '/tmp');
  const url = 'https://alerts.example.org/hook';
  assert.throws(
    load({ CADUCEUS_ALERT_WEBHOOK_URL: 'http://alerts.example.org/hook', CADUCEUS_ALERT_WEBHOOK_SECRET: secret }),
    (error: Error) =>
      error.name === 'ConfigError' &&
      error.message.includes('CADUCEUS_ALERT_WEBHOOK_URL') &&
      !error.message.includes('alerts.example.org'),
  );
  assert.throws(
    load({ CADUCEUS_ALERT_WEBHOOK_URL: 'https://user:pw@alerts.example.org/', CADUCEUS_ALERT_WEBHOOK_SECRET: secret }),
    /must not carry credentials/,
  );
  assert.throws(
    load({ CADUCEUS_ALERT_WEBHOOK_URL: url, CADUCEUS_ALERT_WEBHOOK_SECRET: 'short-secret' }),
    (error: Error) =>
      error.message.includes('CADUCEUS_ALERT_WEBHOOK_SECRET') && !error.message.includes('short-secret'),
  );
  assert.throws(
    load({
      CADUCEUS_ALERT_WEBHOOK_URL: url,
      CADUCEUS_ALERT_WEBHOOK_SECRET: secret,
      CADUCEUS_ALERT_WEBHOOK_ALLOW: '10.0.0.0/33',
    }),
    /CADUCEUS_ALERT_WEBHOOK_ALLOW/,
  );
  const config = loadConfig(
    {
      CADUCEUS_DATA_DIR: '/tmp/x',
      CADUCEUS_ALERT_WEBHOOK_URL: url,
      CADUCEUS_ALERT_WEBHOOK_SECRET: secret,
      CADUCEUS_ALERT_WEBHOOK_ALLOW: '10.1.0.0/16, fd00::1',
    },
    '/tmp',
  );
  assert.deepEqual(config.monitoring.webhook, {
    url,
    secret,
    allow: [
      { address: '10.1.0.0', prefix: 16, family: 'ipv4' },
      { address: 'fd00::1', prefix: 128, family: 'ipv6' },
    ],
  });
  assert.equal(loadConfig({ CADUCEUS_DATA_DIR: '/tmp/x' }, '/tmp').monitoring.webhook, null);
});
