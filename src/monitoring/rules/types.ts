import type { AuditEvent } from '../../audit/event.js';
import type { Alert, AlertKind } from '../../storage/alerts.js';
import type { SecurityEvent } from '../../lib/security-events.js';
import type { MonitoringState } from '../state/ports.js';

/** What a rule fills in; the detector adds id and time. */
export type AlertDraft = Omit<Alert, 'id' | 'time'>;

/** What a rule may use: shared state, and the raising of alerts. */
export interface RuleContext {
  readonly state: MonitoringState;
  /** Raises at once (every occurrence is an alert). */
  raise(draft: AlertDraft): Promise<void>;
  /**
   * Raises unless this rule and key already raised in the same window
   * (windows aligned to the epoch, claimed in shared state): one alert per
   * rule, key and window, whichever process crosses the threshold.
   */
  raiseOnce(key: string, windowMs: number, time: number, draft: AlertDraft): Promise<void>;
}

/** One detection rule (STYLE.md #3: a small named check in one visible list, rules/index.ts). */
export interface Rule {
  readonly kind: AlertKind;
  /** Hears each durable audit event; `time` is its instant in epoch ms. */
  onAudit?(event: AuditEvent, time: number, context: RuleContext): Promise<void>;
  /** Hears each security event; `time` is its instant in epoch ms. */
  onSecurity?(event: SecurityEvent, time: number, context: RuleContext): Promise<void>;
}
