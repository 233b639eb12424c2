import type { InteractionCheck } from './types.js';

/**
 * FHIR update never creates here (ids are server-assigned): the resource
 * must exist and be live, 404 or 410 before its body is validated. For a
 * restricted caller `stored-compartment` has already read it (no second read).
 */
export const currentVersion: InteractionCheck = {
  name: 'current-version',
  stage: 'before',
  async run(context) {
    await context.current();
  },
};
