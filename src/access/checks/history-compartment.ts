import { reachesByPatientId } from './hide-absence.js';
import { requireStoredCompartment } from './stored-compartment.js';
import type { InteractionCheck } from './types.js';

/**
 * A restricted caller sees the history of a resource it reaches: a Patient
 * by its id, tombstone included; another type only while live, since a
 * tombstone carries no patient to check and must not tell that another
 * patient's record existed.
 */
export const historyCompartment: InteractionCheck = {
  name: 'history-compartment',
  stage: 'before',
  async run(context) {
    if (context.request.reach === null || (await reachesByPatientId(context))) return;
    await requireStoredCompartment(context);
  },
};
