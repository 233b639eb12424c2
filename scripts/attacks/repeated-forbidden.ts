import { beyondThreshold, expectStatus, type Scenario } from './types.js';

/** Probing: a device token asks, again and again, for patients a device may not see (each answers 403). */
export const repeatedForbidden: Scenario = {
  kind: 'repeated_forbidden',
  description: 'a device token probing forbidden patient searches',
  tokens: [{ name: 'prober', role: 'device' }],
  async run(context) {
    const size = beyondThreshold(context.settings, 'repeated_forbidden');
    if ('skip' in size) return { status: 'skipped', note: size.skip };
    const token = context.token('prober');
    const from = context.address();
    const statuses: number[] = [];
    for (let n = 0; n < size.count; n += 1)
      statuses.push((await context.api.send({ path: '/api/v1/patients?_count=1', token, from })).status);
    expectStatus('device searches', statuses, 403);
    return {
      status: 'ran',
      note: `${size.count} forbidden searches by one device, all 403`,
      match: { subject: context.subject('prober') },
    };
  },
};
