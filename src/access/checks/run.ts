import { isAbsence } from './hide-absence.js';
import type { CheckedResource, InteractionCheck, InteractionContext } from './types.js';

/** One interaction's checks, run at the stages its handler reaches. */
export interface CheckRunner {
  readonly context: InteractionContext;
  /** The `before` checks: refuse before storage is touched. */
  before(): Promise<void>;
  /** Runs the storage operation; an absent or deleted resource goes through the `missing` checks first. */
  guard<T>(operation: () => Promise<T>): Promise<T>;
  /** The `result` checks: false when the caller may not see this resource. */
  reaches(resource: CheckedResource): Promise<boolean>;
  /** The `written` checks, after a create or update is stored. */
  written(resource: CheckedResource): Promise<void>;
  /** The `shown` checks: what the response shows of a resource. */
  shown(resource: CheckedResource): CheckedResource;
}

/** Runs `checks` (one list of `interactionChecks`) in their order at each stage. */
export function runChecks(checks: readonly InteractionCheck[], context: InteractionContext): CheckRunner {
  return {
    context,
    async before() {
      for (const check of checks) if (check.stage === 'before') await check.run(context);
    },
    async guard(operation) {
      try {
        return await operation();
      } catch (error) {
        if (isAbsence(error))
          for (const check of checks) if (check.stage === 'missing') await check.run(context, error as Error);
        throw error;
      }
    },
    async reaches(resource) {
      for (const check of checks) if (check.stage === 'result' && !(await check.run(context, resource))) return false;
      return true;
    },
    async written(resource) {
      for (const check of checks) if (check.stage === 'written') await check.run(context, resource);
    },
    shown(resource) {
      let shown = resource;
      for (const check of checks) if (check.stage === 'shown') shown = check.run(context, shown);
      return shown;
    },
  };
}
