import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/event.js';
import { observeAuditLog } from '../audit/observed.js';
import type { Config } from '../config/index.js';
import type { Breakers } from '../lib/circuit-breaker.js';
import { openRedis } from '../storage/redis/connection.js';
import type { AlertSink } from './alert-sink.js';
import { createDetector, type Detector } from './detector.js';
import { createRules } from './rules/index.js';
import type { SecurityEvents } from '../lib/security-events.js';
import { createLogSink } from './sinks/log.js';
import { createAlertStream, type AlertStream } from './sinks/stream.js';
import { createSyslogSink } from './sinks/syslog.js';
import { createWebhookSink } from './sinks/webhook.js';
import { WebhookTargetError } from './sinks/webhook-target.js';
import { createMemoryState } from './state/memory.js';
import type { MonitoringState } from './state/ports.js';
import { createRedisState } from './state/redis.js';
import { createResilientState } from './state/resilient.js';

export interface MonitoringOptions {
  readonly logger: Logger;
  readonly events: SecurityEvents;
  readonly breakers: Breakers;
  /** Sinks beyond the configured ones: the alert store plugs in here. */
  readonly sinks?: readonly AlertSink[];
  readonly clock?: () => number;
  /** SSE heartbeat interval (default 15 s). */
  readonly heartbeatMs?: number;
  /** An extra CA the webhook trusts (a receiver behind a private CA). */
  readonly webhookCa?: string | Buffer;
}

/** Security monitoring of one process: the detector, its sinks and its state. */
export interface Monitoring {
  readonly detector: Detector;
  /** The live stream the SSE route serves. */
  readonly stream: AlertStream;
  /** The audit log, with the detector hearing each event once durable. */
  observe<T extends AuditLog>(audit: T): T;
  /** Stops listening, lets in-flight detection finish, closes Redis. */
  close(): Promise<void>;
}

/** Redis key prefix of the shared detection state. */
const redisPrefix = 'caduceus:monitoring:';

function configuredSinks(config: Config, options: MonitoringOptions, stream: AlertStream): AlertSink[] {
  const sinks: AlertSink[] = [createLogSink(options.logger), stream];
  const { webhook, syslog } = config.monitoring;
  if (webhook !== null) {
    const timeoutMs = 5000;
    sinks.push(
      createWebhookSink({
        url: webhook.url,
        secret: webhook.secret,
        allow: webhook.allow,
        timeoutMs,
        breaker: options.breakers.create({
          name: 'alert-webhook',
          timeoutMs: timeoutMs + 1000,
          resetMs: 30_000,
          // A refused target says nothing about the receiver's health.
          isCallerError: (error) => error instanceof WebhookTargetError,
        }),
        ...(options.webhookCa !== undefined && { ca: options.webhookCa }),
        ...(options.clock !== undefined && { clock: options.clock }),
      }),
    );
  }
  if (syslog !== null) sinks.push(createSyslogSink(syslog));
  return [...sinks, ...(options.sinks ?? [])];
}

async function openState(
  config: Config,
  options: MonitoringOptions,
): Promise<{ state: MonitoringState; redis: Redis | null }> {
  const local = createMemoryState();
  if (config.redisUrl === null) return { state: local, redis: null };
  const redis = await openRedis(config.redisUrl, options.logger, { tls: config.redisTls });
  const breaker = options.breakers.create({ name: 'redis-monitoring', timeoutMs: 500, resetMs: 5000 });
  return { state: createResilientState(createRedisState(redis, redisPrefix), local, breaker, options.logger), redis };
}

/**
 * Starts security monitoring (docs/monitoring.md): rules from config, state
 * in Redis when CADUCEUS_REDIS_URL is set (else in process), sinks log +
 * live stream + the configured webhook and syslog + the caller's.
 */
export async function startMonitoring(config: Config, options: MonitoringOptions): Promise<Monitoring> {
  const stream = createAlertStream(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs });
  const { state, redis } = await openState(config, options);
  const detector = createDetector({
    rules: createRules(config.monitoring.rules, config.monitoring.hours),
    state,
    sinks: configuredSinks(config, options, stream),
    logger: options.logger,
    ...(options.clock !== undefined && { clock: options.clock }),
  });
  const unsubscribe = options.events.subscribe((event) => {
    detector.onSecurity(event);
  });
  const onListenerError = (error: unknown): void => {
    options.logger.error(
      { event: 'monitoring.listener_failed', errorType: error instanceof Error ? error.name : typeof error },
      'monitoring listener failed',
    );
  };
  return {
    detector,
    stream,
    observe: (audit) =>
      observeAuditLog(
        audit,
        (event) => {
          detector.onAudit(event);
        },
        onListenerError,
      ),
    async close() {
      unsubscribe();
      await detector.settled();
      redis?.disconnect();
    },
  };
}
