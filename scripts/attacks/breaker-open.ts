import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario } from './types.js';

/** How long to wait for the breaker: the alert deliveries of the earlier scenarios fail within seconds. */
const waitMs = 20_000;

/** Opens of the `alert-webhook` breaker so far, from `/metrics`, or null when the server has no such breaker. */
function webhookBreakerOpens(metrics: string): number | null {
  if (!/^caduceus_circuit_breaker_state\{breaker="alert-webhook"\}/m.test(metrics)) return null;
  const opens =
    /^caduceus_circuit_breaker_transitions_total\{(?=[^}]*breaker="alert-webhook")(?=[^}]*state="open")[^}]*\} (\d+)/m.exec(
      metrics,
    );
  return Number(opens?.[1] ?? 0);
}

/**
 * A dependency failing: the alert webhook. Every alert the earlier
 * scenarios raised is POSTed to it; when the server's webhook points at a
 * receiver that cannot be reached, the failed deliveries open the
 * `alert-webhook` circuit breaker. This scenario waits, on `/metrics`, for
 * that to happen; the simulation cannot break a receiver it does not run.
 */
export const breakerOpen: Scenario = {
  kind: 'breaker_open',
  description: 'failing alert-webhook deliveries open its breaker',
  tokens: [{ name: 'auditor', role: 'auditor' }],
  async run(context) {
    if (context.settings.rules.breaker_open === null)
      return { status: 'skipped', note: 'skipped: the breaker_open rule is off on the server' };
    const read = async (): Promise<number | null> => {
      const response = await context.api.send({
        path: '/metrics',
        token: context.token('auditor'),
        from: context.home,
      });
      if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
      return webhookBreakerOpens(response.body);
    };
    const deadline = Date.now() + waitMs;
    for (let opens = await read(); ; opens = await read()) {
      if (opens === null)
        return { status: 'skipped', note: 'skipped: the server has no alert webhook (CADUCEUS_ALERT_WEBHOOK_URL)' };
      if (opens > 0) return { status: 'ran', note: 'the alert-webhook breaker opened after failed deliveries' };
      if (Date.now() > deadline)
        return { status: 'skipped', note: 'skipped: the alert-webhook breaker stayed closed (its receiver answers)' };
      await sleep(250);
    }
  },
};
