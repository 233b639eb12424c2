import type { InteractionCheck } from './types.js';

/**
 * The patient compartment rule (docs/access-control.md): a restricted
 * caller (own patient, care team, patient/ scope: `request.reach`) sees only
 * resources in the compartments it reaches. A read refuses the rest (403);
 * a search leaves them out. Unrestricted callers reach everything.
 */
export const resultCompartment: InteractionCheck = {
  name: 'result-compartment',
  stage: 'result',
  run: (context, resource) => context.reaches(context.resourceType.patientOf(resource)),
};
