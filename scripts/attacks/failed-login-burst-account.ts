import { beyondThreshold, expectStatus, type Scenario } from './types.js';

/** The token with its signature altered: same header and claims (the account), a signature no key made. */
function forged(token: string, variant: number): string {
  const lastDot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
  const at = variant % signature.length;
  signature.writeUInt8(signature.readUInt8(at) ^ (1 << (variant % 8)), at);
  return `${token.slice(0, lastDot + 1)}${signature.toString('base64url')}`;
}

/**
 * Credential stuffing against one account: a burst of bearer tokens naming
 * one subject whose signatures fail (forged from a real token of that
 * account), from one address.
 */
export const failedLoginBurstAccount: Scenario = {
  kind: 'failed_login_burst_account',
  description: 'forged tokens naming one account',
  tokens: [{ name: 'account', role: 'nurse' }],
  async run(context) {
    const size = beyondThreshold(context.settings, 'failed_login_burst_account');
    if ('skip' in size) return { status: 'skipped', note: size.skip };
    const real = context.token('account');
    const from = context.address();
    const statuses: number[] = [];
    for (let variant = 0; variant < size.count; variant += 1) {
      statuses.push(
        (await context.api.send({ path: '/api/v1/patients?_count=1', token: forged(real, variant), from })).status,
      );
    }
    expectStatus('forged tokens', statuses, 401);
    return {
      status: 'ran',
      note: `${size.count} forged tokens for one account, all 401`,
      match: { subject: context.subject('account') },
    };
  },
};
