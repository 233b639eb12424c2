import type { Alert } from '../storage/alerts.js';

/** Where alerts go (DESIGN.md ports: log + live stream embedded; webhook, syslog at scale). */
export interface AlertSink {
  readonly name: string;
  /** Delivers one alert; rejects on failure (the caller isolates sinks from each other and from requests). */
  deliver(alert: Alert): Promise<void>;
}
