import { beyondThreshold, expectStatus, type Scenario } from './types.js';

/** Snooping: one clinician reads many distinct (synthetic) patients, one read each. */
export const patientSnooping: Scenario = {
  kind: 'patient_snooping',
  description: 'one clinician reads many distinct patients',
  tokens: [{ name: 'snoop', role: 'clinician' }],
  async run(context) {
    const size = beyondThreshold(context.settings, 'patient_snooping');
    if ('skip' in size) return { status: 'skipped', note: size.skip };
    const ids = context.patients.ids.slice(0, size.count);
    if (ids.length < size.count)
      throw new Error(`only ${ids.length} synthetic patients for ${size.count} distinct reads`);
    const token = context.token('snoop');
    const from = context.address();
    const statuses: number[] = [];
    for (const id of ids)
      statuses.push((await context.api.send({ path: `/api/v1/patients/${id}`, token, from })).status);
    expectStatus('patient reads', statuses, 200);
    return {
      status: 'ran',
      note: `${ids.length} distinct patients read by one clinician`,
      match: { subject: context.subject('snoop') },
    };
  },
};
