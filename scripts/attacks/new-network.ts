import { expectStatus, type Scenario } from './types.js';

/** The same token from two networks: a baseline request, then one from another /24 (posing through X-Forwarded-For). */
export const newNetwork: Scenario = {
  kind: 'new_network',
  description: 'one token used from two networks',
  tokens: [{ name: 'roamer', role: 'clinician' }],
  async run(context) {
    if (context.settings.rules.new_network === null)
      return { status: 'skipped', note: 'skipped: the new_network rule is off on the server' };
    if (!context.proxyTrusted)
      return {
        status: 'skipped',
        note: 'skipped: the server does not trust this client as a proxy (CADUCEUS_TRUSTED_PROXIES)',
      };
    const token = context.token('roamer');
    const path = `/api/v1/patients?family=${encodeURIComponent(context.patients.family)}&_count=1`;
    const home = context.address();
    let away = context.address();
    // A /24 apart: the rule compares /24 networks (docs/monitoring.md).
    while (away?.split('.').slice(0, 3).join('.') === home?.split('.').slice(0, 3).join('.')) away = context.address();
    const statuses = [
      (await context.api.send({ path, token, from: home })).status,
      (await context.api.send({ path, token, from: away })).status,
    ];
    expectStatus('searches from two networks', statuses, 200);
    return {
      status: 'ran',
      note: 'one token from a baseline network, then a new one',
      match: { subject: context.subject('roamer') },
    };
  },
};
