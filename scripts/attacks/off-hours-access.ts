import { localMinuteOf, withinHours } from '../../src/monitoring/rules/off-hours-access.js';
import { expectStatus, type Scenario } from './types.js';

/**
 * Access outside working hours: one authenticated request. Only possible
 * while the server's CADUCEUS_ALERT_HOURS exclude the current time; the
 * simulation cannot move the server's clock.
 */
export const offHoursAccess: Scenario = {
  kind: 'off_hours_access',
  description: 'an authenticated request outside working hours',
  tokens: [{ name: 'night', role: 'clinician' }],
  async run(context) {
    const { hours, rules } = context.settings;
    if (rules.off_hours_access === null)
      return { status: 'skipped', note: 'skipped: the off_hours_access rule is off on the server' };
    if (hours === null)
      return { status: 'skipped', note: 'skipped: the server has no working hours (CADUCEUS_ALERT_HOURS)' };
    if (withinHours(localMinuteOf(hours.timeZone)(Date.now()), hours))
      return { status: 'skipped', note: 'skipped: server hours include now' };
    const response = await context.api.send({
      path: `/api/v1/patients?family=${encodeURIComponent(context.patients.family)}&_count=1`,
      token: context.token('night'),
      from: context.address(),
    });
    expectStatus('off-hours search', [response.status], 200);
    return { status: 'ran', note: 'one search outside working hours', match: { subject: context.subject('night') } };
  },
};
