import type { FastifyRequest } from 'fastify';
import type { Interaction } from '../permissions.js';
import type { CheckedResource, CheckedType, InteractionContext } from './types.js';

/** What a route gives its interaction's checks. */
export interface InteractionInput {
  readonly interaction: Interaction;
  readonly request: FastifyRequest;
  readonly resourceType: CheckedType;
  readonly id?: string;
  /** Reads the current version of `id` (the engine's read). */
  readonly readCurrent?: () => Promise<CheckedResource>;
}

/**
 * Builds the context of one interaction: the current version is read at
 * most once, and each Patient's reach is asked at most once (a care team's
 * reach is a database query), for every check of the request.
 */
export function createInteractionContext(input: InteractionInput): InteractionContext {
  const { request, readCurrent } = input;
  let current: Promise<CheckedResource> | undefined;
  let searchList: readonly string[] | undefined;
  let searchSet: ReadonlySet<string> | undefined;
  const reached = new Map<string, Promise<boolean>>();
  return {
    interaction: input.interaction,
    request,
    resourceType: input.resourceType,
    id: input.id ?? null,
    current() {
      if (readCurrent === undefined)
        return Promise.reject(new RangeError(`a ${input.interaction} addresses no current version`));
      current ??= readCurrent();
      return current;
    },
    reaches(patient) {
      const reach = request.reach;
      if (reach === null) return Promise.resolve(true);
      if (patient === null) return Promise.resolve(false);
      // A search's compartments were listed once: its results are checked against that list, not the store.
      if (searchSet !== undefined) return Promise.resolve(searchSet.has(patient));
      let answer = reached.get(patient);
      if (answer === undefined) {
        answer = reach.allows(patient);
        reached.set(patient, answer);
      }
      return answer;
    },
    get searchCompartments() {
      return searchList;
    },
    restrictSearch(patients) {
      searchList = patients;
      searchSet = new Set(patients);
    },
  };
}
