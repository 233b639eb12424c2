import type { Alert } from '../../storage/alerts.js';
import type { AlertSink } from '../alert-sink.js';

/** The live alert stream: a sink that hands each alert to every open console connection. */
export interface AlertStream extends AlertSink {
  /** Interval of the SSE heartbeat comments that keep proxies from closing an idle stream. */
  readonly heartbeatMs: number;
  /** Returns the function that unsubscribes. */
  subscribe(listener: (alert: Alert) => void): () => void;
  readonly subscribers: number;
}

/** An in-process stream; each process streams the alerts it raised (docs/monitoring.md says so). */
export function createAlertStream(options: { heartbeatMs?: number } = {}): AlertStream {
  const listeners = new Set<(alert: Alert) => void>();
  return {
    name: 'stream',
    heartbeatMs: options.heartbeatMs ?? 15_000,
    deliver(alert) {
      for (const listener of listeners) listener(alert);
      return Promise.resolve();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get subscribers() {
      return listeners.size;
    },
  };
}
