import { moveSealedBody } from './tamper.js';
import type { Scenario } from './types.js';

interface Created {
  readonly id: string;
}

/**
 * Tampering: with write access to the database (not through the API, which
 * cannot be made to do it), move the sealed body of one synthetic patient
 * onto another's row, read the victim (the server must refuse it), then put
 * the original body back.
 */
export const integrityError: Scenario = {
  kind: 'integrity_error',
  description: 'a sealed body moved to another row, then read',
  tokens: [{ name: 'setup', role: 'clinician' }],
  async run(context) {
    if (context.settings.rules.integrity_error === null)
      return { status: 'skipped', note: 'skipped: the integrity_error rule is off on the server' };
    const token = context.token('setup');
    const from = context.home;
    const family = `${context.patients.family}-sealed`;
    const create = (given: string): Promise<Created> =>
      context.api.json<Created>(
        {
          method: 'POST',
          path: '/api/v1/patients',
          token,
          from,
          body: { resourceType: 'Patient', name: [{ family, given: [given] }] },
        },
        201,
      );
    const donor = await create('Donor');
    const victim = await create('Victim');
    const restore = await moveSealedBody(
      context.settings.databaseUrl,
      { type: 'Patient', id: donor.id },
      { type: 'Patient', id: victim.id },
    );
    let status: number;
    try {
      status = (await context.api.send({ path: `/api/v1/patients/${victim.id}`, token, from })).status;
    } finally {
      await restore();
    }
    if (status === 200)
      return {
        status: 'skipped',
        note: 'skipped: the moved body opened; the server stores bodies unsealed (CADUCEUS_ENCRYPTION=off)',
      };
    if (status !== 500) throw new Error(`the tampered read answered ${status}, expected 500`);
    return {
      status: 'ran',
      note: 'one sealed body moved in the database; its read answered 500 (restored after)',
      match: { subject: context.subject('setup') },
    };
  },
};
