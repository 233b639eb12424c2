import { ApiError } from '../../errors/index.js';
import { answerAbsence, isAbsence } from './hide-absence.js';
import type { InteractionCheck, InteractionContext } from './types.js';

/** The current version must be in the restricted caller's reach; absent or deleted answers as `hide-absence` says. */
export async function requireStoredCompartment(context: InteractionContext): Promise<void> {
  if (context.request.reach === null) return;
  let patient: string | null;
  try {
    patient = context.resourceType.patientOf(await context.current());
  } catch (error) {
    if (isAbsence(error)) await answerAbsence(context);
    throw error;
  }
  if (!(await context.reaches(patient))) throw new ApiError('FORBIDDEN');
}

/**
 * A restricted caller changes or deletes only what is stored in a
 * compartment it reaches (docs/access-control.md): the current version is
 * checked before the write, so "not yours" is refused before anything moves.
 */
export const storedCompartment: InteractionCheck = {
  name: 'stored-compartment',
  stage: 'before',
  run: requireStoredCompartment,
};
