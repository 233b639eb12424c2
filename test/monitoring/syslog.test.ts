import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import type { Alert } from '../../src/storage/alerts.js';
import { createSyslogSink, structuredDataId } from '../../src/monitoring/sinks/syslog.js';

const alert: Alert = {
  id: '0123456789abcdef0123456789abcdef',
  kind: 'integrity_error',
  severity: 'critical',
  time: '2025-01-14T10:00:00.123Z',
  subject: null,
  sourceIp: null,
  summary: 'an integrity check failed',
  details: { code: 'SEAL_INVALID' },
  requestIds: [],
};

/** RFC 5424 §6: HEADER SP STRUCTURED-DATA [SP MSG], parsed strictly enough to catch a malformed field. */
const rfc5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[(?:[^\]\\]|\\.)*\]|-)(?: (.*))?$/s;

function parse(message: string) {
  const match = rfc5424.exec(message);
  assert.ok(match, `RFC 5424 shape: ${message}`);
  const params = Object.fromEntries(
    [...match[7]!.matchAll(/(\w+)="((?:[^"\\\]]|\\.)*)"/g)].map((param) => [param[1]!, param[2]!]),
  );
  return {
    pri: Number(match[1]),
    timestamp: match[2],
    hostname: match[3],
    appName: match[4],
    procId: match[5],
    msgId: match[6],
    sdId: /^\[(\S+)/.exec(match[7]!)?.[1],
    params,
    msg: match[8],
  };
}

async function udpListener(t: TestContext): Promise<{ port: number; next: Promise<string> }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  t.after(() => {
    socket.close();
  });
  const next = once(socket, 'message').then(([message]) => (message as Buffer).toString());
  return { port: socket.address().port, next };
}

async function tcpListener(t: TestContext): Promise<{ port: number; next: Promise<string> }> {
  let resolveData: (data: string) => void = () => undefined;
  const next = new Promise<string>((resolve) => {
    resolveData = resolve;
  });
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      resolveData(Buffer.concat(chunks).toString());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, next };
}

test('syslog over UDP: one RFC 5424 datagram with facility, severity, app name, kind and structured data', async (t) => {
  const listener = await udpListener(t);
  const sink = createSyslogSink({
    transport: 'udp',
    host: '127.0.0.1',
    port: listener.port,
    facility: 10,
    appName: 'caduceus-test',
    hostname: 'api-1',
  });
  await sink.deliver(alert);
  const message = parse(await listener.next);
  assert.equal(message.pri, 10 * 8 + 2, 'authpriv.crit');
  assert.equal(message.timestamp, alert.time);
  assert.equal(message.hostname, 'api-1');
  assert.equal(message.appName, 'caduceus-test');
  assert.equal(message.procId, String(process.pid));
  assert.equal(message.msgId, 'integrity_error');
  assert.equal(message.sdId, structuredDataId);
  assert.deepEqual(message.params, { id: alert.id, kind: 'integrity_error', severity: 'critical' });
  assert.equal(message.msg, alert.summary);
});

test('syslog over TCP: octet-counting framing (RFC 6587), severity mapped per alert severity', async (t) => {
  const listener = await tcpListener(t);
  const sink = createSyslogSink({
    transport: 'tcp',
    host: '127.0.0.1',
    port: listener.port,
    facility: 16,
    appName: 'caduceus',
  });
  await sink.deliver({
    ...alert,
    kind: 'off_hours_access',
    severity: 'low',
    summary: 'access outside working hours (Europe/Berlin)',
  });
  const framed = await listener.next;
  const frame = /^(\d+) (.*)$/s.exec(framed);
  assert.ok(frame, 'MSG-LEN SP SYSLOG-MSG');
  assert.equal(Number(frame[1]), Buffer.byteLength(frame[2]!));
  const message = parse(frame[2]!);
  assert.equal(message.pri, 16 * 8 + 5, 'local0.notice');
  assert.equal(message.msgId, 'off_hours_access');
  assert.equal(message.params.severity, 'low');
});

test('syslog: an unreachable TCP receiver rejects the delivery (the detector isolates it)', async () => {
  const sink = createSyslogSink({ transport: 'tcp', host: '127.0.0.1', port: 1, facility: 16, appName: 'caduceus' });
  await assert.rejects(sink.deliver(alert), /syslog connection failed/);
});

test('syslog settings: udp:// or tcp:// with a port, facility names, app name', () => {
  const load = (env: Record<string, string>) => loadConfig({ CADUCEUS_DATA_DIR: '/tmp/x', ...env }, '/tmp');
  assert.deepEqual(
    load({ CADUCEUS_ALERT_SYSLOG: 'tcp://[::1]:6514', CADUCEUS_ALERT_SYSLOG_FACILITY: 'authpriv' }).monitoring.syslog,
    { transport: 'tcp', host: '::1', port: 6514, facility: 10, appName: 'caduceus' },
  );
  assert.equal(load({}).monitoring.syslog, null);
  assert.throws(() => load({ CADUCEUS_ALERT_SYSLOG: 'https://logs.example.org:514' }), /CADUCEUS_ALERT_SYSLOG must be/);
  assert.throws(() => load({ CADUCEUS_ALERT_SYSLOG: 'udp://logs.example.org' }), /CADUCEUS_ALERT_SYSLOG must be/);
  assert.throws(
    () => load({ CADUCEUS_ALERT_SYSLOG: 'udp://127.0.0.1:514', CADUCEUS_ALERT_SYSLOG_FACILITY: 'local9' }),
    /CADUCEUS_ALERT_SYSLOG_FACILITY/,
  );
  assert.throws(
    () => load({ CADUCEUS_ALERT_SYSLOG: 'udp://127.0.0.1:514', CADUCEUS_ALERT_SYSLOG_APP_NAME: 'has space' }),
    /CADUCEUS_ALERT_SYSLOG_APP_NAME/,
  );
});
