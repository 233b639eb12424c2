import type { InteractionCheck } from './types.js';

/**
 * The care-team member who created a Patient is assigned to it, so the
 * creator goes on reaching what it just wrote (docs/access-control.md
 * "Care teams").
 */
export const admitCreator: InteractionCheck = {
  name: 'admit-creator',
  stage: 'written',
  async run(context, resource) {
    const reach = context.request.reach;
    if (reach !== null && context.resourceType.type === 'Patient') await reach.admit(resource.id ?? '');
  },
};
