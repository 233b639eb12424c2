import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger, type DestinationStream } from 'pino';
import { isColorSupported, prettyFactory } from 'pino-pretty';
import type { Config } from '../config/index.js';

/**
 * Paths pino censors wherever they appear (HIPAA 164.312(b) logging without
 * PHI or secrets). Request lines below never carry URLs, bodies or headers;
 * this is the second line of defence for anything logged by hand.
 */
const redactPaths = [
  'authorization',
  '*.authorization',
  'headers',
  '*.headers',
  'body',
  '*.body',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'url',
  '*.url',
  'query',
  '*.query',
  'err.message',
  'err.stack',
];

/** The start-up line with the command of a first request (src/server.ts), set apart in pretty output. */
const firstRequestHint = 'server.first_request_hint';

/**
 * Human-readable lines (CADUCEUS_LOG_FORMAT=pretty) for a developer's
 * terminal. pino has redacted each line before it gets here, so pretty
 * output hides exactly what JSON output hides. Synchronous: a developer
 * sees every line at once and loses none at exit.
 */
function prettyStream(sink: DestinationStream, colorize: boolean): DestinationStream {
  const prettify = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'service',
    singleLine: true,
  });
  return {
    write(line: string): void {
      const log = JSON.parse(line) as Record<string, unknown>;
      const split = typeof log.msg === 'string' && log.event === firstRequestHint ? log.msg.indexOf(': ') : -1;
      if (split < 0 || typeof log.msg !== 'string') {
        sink.write(prettify(log));
        return;
      }
      // The hint's command on a line of its own between blank lines: easy to spot, and copied without a field after it.
      const { msg, ...rest } = log;
      delete rest.event;
      sink.write(`\n${prettify({ ...rest, msg: msg.slice(0, split + 1) })}\n    ${msg.slice(split + 2)}\n\n`);
    },
  };
}

/**
 * The process logger, redacted, level from config. JSON lines by default:
 * they go to stdout through a 4 KiB buffer (a write per request line cost 5%
 * of a read); call `flush` before exit. `pretty` lines are written at once.
 * `destination` (tests) replaces stdout.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: 'caduceus' },
  };
  if (config.logFormat === 'pretty') {
    return pino(
      options,
      prettyStream(
        destination ?? pino.destination({ dest: 1, sync: true }),
        destination === undefined && isColorSupported,
      ),
    );
  }
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}

/**
 * Fastify's childLoggerFactory: `request.log` is the process logger itself.
 * A pino child per request cost 2 µs (it redacts its bindings up front) for
 * lines that are rarely written; request-scoped lines name `requestId`
 * themselves instead.
 */
export function sharedRequestLogger<T>(logger: T): T {
  return logger;
}

/**
 * Request log lines name the route pattern (`/api/v1/patients/:id`), never the
 * URL: search values like `family=` are PHI. Errors are logged by type only.
 * Completed requests log at `debug`: every API request already has its
 * durable audit event, and a second line per request at `info` halved the
 * throughput of a bare Fastify route in our measurements. Failures (5xx)
 * log at `error` at any level.
 */
export class PhiSafeLogController extends LogController {
  override incomingRequest(): void {
    // One line per request, at completion, is enough.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      requestId: request.id,
      method: request.method,
      route: request.routeOptions.url ?? '(unmatched)',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ...(error && { errorType: error.name }),
    };
    if (reply.statusCode >= 500) reply.log.error(line, 'request failed');
    else reply.log.debug(line, 'request completed');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.error({ requestId: request.id, errorType: error.name }, 'request error');
  }

  override routeNotFound(): void {
    // Counted in the completion line; the URL itself may carry PHI.
  }
}
