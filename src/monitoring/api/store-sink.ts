import type { AlertStore } from '../../storage/ports.js';
import type { Alert } from '../../storage/alerts.js';
import type { AlertSink } from '../alert-sink.js';

/**
 * The sink that keeps every alert, for review through
 * `GET /api/v1/alerts`. Storing the same alert twice keeps one, so a
 * detector that retries a delivery does not double it.
 */
export function createAlertStoreSink(store: AlertStore): AlertSink {
  return {
    name: 'store',
    deliver: (alert: Alert) => store.append(alert),
  };
}
