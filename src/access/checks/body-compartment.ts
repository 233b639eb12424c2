import { ApiError } from '../../errors/index.js';
import type { CheckedResource, InteractionCheck } from './types.js';

/**
 * A restricted caller writes only into compartments it reaches: the Patient
 * a body belongs to is checked before anything is stored. A body too
 * malformed to name one is refused alike (403, not 400: it says nothing). A
 * Patient body opens its own compartment instead (`opens-compartment`).
 */
export const bodyCompartment: InteractionCheck = {
  name: 'body-compartment',
  stage: 'before',
  async run(context) {
    const { request, resourceType } = context;
    if (request.reach === null || resourceType.type === 'Patient') return;
    let patient: string | null;
    try {
      patient =
        typeof request.body === 'object' && request.body !== null
          ? resourceType.patientOf(request.body as CheckedResource)
          : null;
    } catch {
      patient = null;
    }
    if (!(await context.reaches(patient))) throw new ApiError('FORBIDDEN');
  },
};
