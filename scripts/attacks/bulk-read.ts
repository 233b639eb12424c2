import { beyondThreshold, type Scenario } from './types.js';

interface Bundle {
  readonly entry?: readonly unknown[];
}

/** Bulk read: one clinician pulls many records through searches over the synthetic patients, again and again. */
export const bulkRead: Scenario = {
  kind: 'bulk_read',
  description: 'searches returning many records to one user',
  tokens: [{ name: 'bulk', role: 'clinician' }],
  async run(context) {
    const size = beyondThreshold(context.settings, 'bulk_read');
    if ('skip' in size) return { status: 'skipped', note: size.skip };
    const token = context.token('bulk');
    const from = context.address();
    const path = `/api/v1/patients?family=${encodeURIComponent(context.patients.family)}`;
    let records = 0;
    let searches = 0;
    while (records < size.count) {
      const bundle = await context.api.json<Bundle>({ path, token, from });
      const found = bundle.entry?.length ?? 0;
      if (found === 0) throw new Error('the search over the synthetic patients found none');
      records += found;
      searches += 1;
    }
    return {
      status: 'ran',
      note: `${records} records returned by ${searches} searches`,
      match: { subject: context.subject('bulk') },
    };
  },
};
