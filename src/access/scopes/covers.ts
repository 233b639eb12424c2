import type { Interaction } from '../permissions.js';
import type { ResourceScope, ScopeContext, ScopePermission } from './scope.js';

/**
 * The SMART permission each FHIR interaction needs (SMART v2 scopes table):
 * read, vread and history are reads; search is `s`.
 */
export const permissionFor: Readonly<Record<Interaction, ScopePermission>> = {
  read: 'r',
  vread: 'r',
  history: 'r',
  search: 's',
  create: 'c',
  update: 'u',
  delete: 'd',
};

/** The contexts (patient, user, system) whose scopes cover an interaction on a resource type. */
export function coveringContexts(
  scopes: readonly ResourceScope[],
  resourceType: string,
  interaction: Interaction,
): ReadonlySet<ScopeContext> {
  const needed = permissionFor[interaction];
  const found = new Set<ScopeContext>();
  for (const scope of scopes) {
    if ((scope.resourceType === '*' || scope.resourceType === resourceType) && scope.permissions.has(needed))
      found.add(scope.context);
  }
  return found;
}
