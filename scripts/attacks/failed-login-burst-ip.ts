import { randomBytes } from 'node:crypto';
import { beyondThreshold, expectStatus, type Scenario } from './types.js';

/** Token-shaped garbage: three base64url parts that no issuer signed (a request without any token would not count). */
function garbageToken(): string {
  return [12, 48, 32].map((size) => randomBytes(size).toString('base64url')).join('.');
}

/** Credential stuffing from one address: a burst of garbage bearer tokens, each refused with 401. */
export const failedLoginBurstIp: Scenario = {
  kind: 'failed_login_burst_ip',
  description: 'garbage bearer tokens from one address',
  tokens: [],
  async run(context) {
    const size = beyondThreshold(context.settings, 'failed_login_burst_ip');
    if ('skip' in size) return { status: 'skipped', note: size.skip };
    const from = context.address();
    const statuses: number[] = [];
    for (let n = 0; n < size.count; n += 1) {
      statuses.push(
        (await context.api.send({ path: '/api/v1/patients?_count=1', token: garbageToken(), from })).status,
      );
    }
    expectStatus('garbage tokens', statuses, 401);
    return {
      status: 'ran',
      note: `${size.count} garbage tokens from one address, all 401`,
      ...(from !== null && { match: { sourceIp: from } }),
    };
  },
};
