import { ApiError } from '../../errors/index.js';
import type { InteractionCheck, InteractionContext } from './types.js';

/** A Patient's compartment is its own id (FHIR compartmentdefinition-patient): reach is known before anything is read. */
export async function reachesByPatientId(context: InteractionContext): Promise<boolean> {
  return (
    context.resourceType.type === 'Patient' &&
    context.request.reach !== null &&
    context.id !== null &&
    context.reaches(context.id)
  );
}

/** True for the answers that tell whether a record exists. */
export function isAbsence(error: unknown): boolean {
  return error instanceof ApiError && (error.code === 'NOT_FOUND' || error.code === 'GONE');
}

/** What a restricted caller learns of an absent or deleted resource: the error itself for a Patient id it reaches, else 403. */
export async function answerAbsence(context: InteractionContext): Promise<void> {
  if (context.request.reach === null || (await reachesByPatientId(context))) return;
  throw new ApiError('FORBIDDEN');
}

/**
 * No existence oracle (docs/access-control.md): for a restricted caller,
 * "absent" and "not yours" answer alike, 403. Only a Patient id it reaches
 * keeps its 404 or 410 (its own deleted record, say).
 */
export const hideAbsence: InteractionCheck = {
  name: 'hide-absence',
  stage: 'missing',
  run: (context) => answerAbsence(context),
};
