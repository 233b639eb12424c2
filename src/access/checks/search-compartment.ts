import type { InteractionCheck } from './types.js';

/**
 * A restricted caller's search keeps to its compartments in the query
 * itself, so pages and cursors never count others' records
 * (docs/access-control.md); `result-compartment` re-checks each match.
 */
export const searchCompartment: InteractionCheck = {
  name: 'search-compartment',
  stage: 'before',
  async run(context) {
    const reach = context.request.reach;
    if (reach !== null) context.restrictSearch(await reach.patients());
  },
};
