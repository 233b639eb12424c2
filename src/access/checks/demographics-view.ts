import type { CheckedResource, InteractionCheck } from './types.js';

/**
 * A role whose grant has the `demographics` view (billing) sees identity
 * and contact elements only, nothing clinical (docs/access-control.md);
 * every other view shows the whole resource.
 */
export const demographicsView: InteractionCheck = {
  name: 'demographics-view',
  stage: 'shown',
  run(context, resource) {
    if (context.request.grant?.view !== 'demographics') return resource;
    const kept: Record<string, unknown> = { resourceType: resource.resourceType };
    for (const key of ['id', 'meta', ...context.resourceType.demographicElements]) {
      if (key in resource) kept[key] = resource[key];
    }
    return kept as CheckedResource;
  },
};
