import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { AlertStream } from './sinks/stream.js';

/** A console that reads slower than alerts arrive is cut off past this much unsent data. */
const maxBufferedBytes = 1_048_576;

/**
 * `GET /api/v1/alerts/stream`: Server-Sent Events for an operator console
 * (admin and auditor: the `Alert` row of src/access/permissions.ts). The
 * handler sends a stream instead of hijacking the reply, so the request's
 * audit event is written by the audit layer's onSend hook, once and durably,
 * before the headers leave; the open connection holds nothing of it.
 */
export function registerAlertStreamRoute(app: FastifyInstance, stream: AlertStream): void {
  const open = new Set<PassThrough>();
  // Open streams would keep app.close() waiting for ever: end them first.
  app.addHook('preClose', (done) => {
    for (const body of open) body.end();
    done();
  });
  app.get(
    '/api/v1/alerts/stream',
    { config: { access: { resourceType: 'Alert', interaction: 'search' } } },
    (_request, reply) => {
      const body = new PassThrough();
      const write = (text: string): void => {
        if (body.writableLength > maxBufferedBytes) body.destroy();
        else body.write(text);
      };
      const unsubscribe = stream.subscribe((alert) => {
        write(`id: ${alert.id}\nevent: alert\ndata: ${JSON.stringify(alert)}\n\n`);
      });
      const heartbeat = setInterval(() => {
        write(': heartbeat\n\n');
      }, stream.heartbeatMs);
      const stop = (): void => {
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(body);
      };
      open.add(body);
      body.once('close', stop);
      // The client went away: stop writing to it.
      reply.raw.once('close', () => {
        body.destroy();
      });
      body.write('retry: 5000\n\n');
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(body);
    },
  );
}
