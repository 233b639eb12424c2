import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { build } from '../helpers/app.js';
import { until } from '../helpers/until.js';

interface ServerSentEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads an SSE response: events as they complete, and every byte received (to scan for PHI). */
function reader(response: IncomingMessage) {
  let buffer = '';
  let all = '';
  let heartbeats = 0;
  const events: ServerSentEvent[] = [];
  const waiters: (() => void)[] = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    all += chunk;
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(': heartbeat')) heartbeats += 1;
      const event: ServerSentEvent = {};
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        if (field === 'id' || field === 'event' || field === 'data') event[field] = rest.join(': ');
      }
      if (event.event !== undefined) events.push(event);
    }
    for (const waiter of waiters.splice(0)) waiter();
  });
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { events, until, text: () => all, heartbeats: () => heartbeats };
}

async function openStream(url: string, token: string): Promise<IncomingMessage> {
  const request = get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
  const [response] = (await once(request, 'response')) as [IncomingMessage];
  return response;
}

test('GET /api/v1/alerts/stream: auditors receive alerts live (repeated 403s over HTTP), with heartbeats and no PHI', async (t) => {
  const built = await build(t, { monitoring: { heartbeatMs: 50 } });
  const base = await built.app.listen({ host: '127.0.0.1', port: 0 });
  const stream = `${base}/api/v1/alerts/stream`;

  // Deny by default: no token 401, a clinician 403.
  assert.equal((await fetch(stream)).status, 401);
  const clinician = await built.token('clinician');
  const refused = await fetch(stream, { headers: { authorization: `Bearer ${clinician}` } });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');

  const response = await openStream(stream, await built.token('auditor', { sub: 'auditor-on-duty' }));
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /^text\/event-stream/);
  assert.equal(response.headers['cache-control'], 'no-store');
  const sse = reader(response);
  await sse.until(() => sse.heartbeats() >= 2);

  // The stream's own request was audited (onSend, before the headers left), and the open connection holds nothing.
  const audited = await built.db.audit.search({ resourceType: 'Alert', interaction: 'search', status: 200, limit: 10 });
  assert.equal(audited.length, 1);
  assert.equal((JSON.parse(audited[0]!.payload) as { actor: { subject: string } }).actor.subject, 'auditor-on-duty');

  // A patient with a planted marker; then a device token probes it.
  const marker = 'Zzplantedmarkerzz';
  const created = await fetch(`${base}/api/v1/patients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clinician}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: marker, given: [marker] }],
      birthDate: '1970-01-01',
    }),
  });
  assert.equal(created.status, 201);
  const patientId = ((await created.json()) as { id: string }).id;
  const prober = await built.token('device', { sub: 'prober-1' });
  for (let i = 0; i < 10; i += 1) {
    const probe = await fetch(`${base}/api/v1/patients?family=${marker}&_id=${patientId}`, {
      headers: { authorization: `Bearer ${prober}` },
    });
    assert.equal(probe.status, 403);
    await probe.arrayBuffer();
  }
  // The clinician's 403 and the prober's share an address: the address alert may come first; the prober's follows.
  type Received = { id: string; kind: string; subject: string | null; details: { count: number } };
  const alerts = (): Received[] => sse.events.map((event) => JSON.parse(event.data!) as Received);
  await sse.until(() => alerts().some((alert) => alert.subject === 'prober-1'));
  assert.ok(
    sse.events.every((event) => event.event === 'alert' && (JSON.parse(event.data!) as Received).id === event.id),
  );
  const alert = alerts().find((candidate) => candidate.subject === 'prober-1');
  assert.equal(alert?.kind, 'repeated_forbidden');
  assert.equal(alert.details.count, 10);
  assert.deepEqual([...new Set(alerts().map((candidate) => candidate.kind))], ['repeated_forbidden']);
  assert.ok(
    !sse.text().includes(marker) && !sse.text().includes(patientId),
    'no PHI, no planted value, no patient id on the stream',
  );
  const stored = JSON.stringify(await built.db.alerts.list({ limit: 100 }));
  assert.ok(stored.includes('prober-1'), 'the alert store sink kept the alerts');
  assert.ok(!stored.includes(marker) && !stored.includes(patientId), 'nor in the stored alerts');

  // Closing the server ends open streams instead of waiting for them.
  const ended = once(response, 'end');
  await built.app.close();
  await ended;
});

test('the alert stream holds no subscriber after its client goes away', async (t) => {
  const built = await build(t, { monitoring: { heartbeatMs: 20 } });
  const base = await built.app.listen({ host: '127.0.0.1', port: 0 });
  const response = await openStream(`${base}/api/v1/alerts/stream`, await built.token('admin'));
  assert.equal(response.statusCode, 200);
  const subscribers = (): number => built.monitoring.stream.subscribers;
  assert.equal(subscribers(), 1);
  response.destroy();
  await until(() => subscribers() === 0, 3_000, 'the route to unsubscribe once its client went away');
});
