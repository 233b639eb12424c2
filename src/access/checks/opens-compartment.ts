import { ApiError } from '../../errors/index.js';
import type { InteractionCheck } from './types.js';

/**
 * A new Patient opens a new compartment: only an unrestricted caller or a
 * care team's member (then assigned to it, `admit-creator`) may create one
 * (docs/access-control.md "Care teams").
 */
export const opensCompartment: InteractionCheck = {
  name: 'opens-compartment',
  stage: 'before',
  run(context) {
    const reach = context.request.reach;
    const refused = reach !== null && context.resourceType.type === 'Patient' && !reach.opensCompartments;
    return refused ? Promise.reject(new ApiError('FORBIDDEN')) : Promise.resolve();
  },
};
