import type { Interaction } from '../permissions.js';
import { admitCreator } from './admit-creator.js';
import { bodyCompartment } from './body-compartment.js';
import { currentVersion } from './current-version.js';
import { demographicsView } from './demographics-view.js';
import { hideAbsence } from './hide-absence.js';
import { historyCompartment } from './history-compartment.js';
import { opensCompartment } from './opens-compartment.js';
import { resultCompartment } from './result-compartment.js';
import { searchCompartment } from './search-compartment.js';
import { storedCompartment } from './stored-compartment.js';
import { checkStages, type InteractionCheck } from './types.js';

export { createInteractionContext, type InteractionInput } from './context.js';
export { runChecks, type CheckRunner } from './run.js';
export type { CheckedResource, CheckedType, CheckStage, InteractionCheck, InteractionContext } from './types.js';

/**
 * The checks each interaction runs on the instance, in order (DESIGN.md
 * request path step 7: compartment, care team, consent, labels,
 * break-glass), after the access decision of step 5 has allowed the route
 * (role, SMART scopes, MFA for sensitive routes and every delete). Each
 * check runs at its stage (./types.ts); a list keeps to the stage order.
 * Adding a check is one entry here.
 */
export const interactionChecks: Readonly<Record<Interaction, readonly InteractionCheck[]>> = {
  read: [hideAbsence, resultCompartment, demographicsView],
  vread: [hideAbsence, resultCompartment, demographicsView],
  history: [historyCompartment, hideAbsence, resultCompartment, demographicsView],
  search: [searchCompartment, resultCompartment, demographicsView],
  create: [opensCompartment, bodyCompartment, admitCreator, demographicsView],
  update: [storedCompartment, currentVersion, bodyCompartment, demographicsView],
  delete: [storedCompartment],
};

/** Refuses a table whose lists run a check out of its stage's order or name one twice. */
export function assertCheckOrder(table: Readonly<Record<string, readonly InteractionCheck[]>>): void {
  for (const [interaction, checks] of Object.entries(table)) {
    const names = new Set<string>();
    checks.forEach((check, index) => {
      if (names.has(check.name)) throw new Error(`interaction checks: ${interaction} lists '${check.name}' twice`);
      names.add(check.name);
      const previous = checks[index - 1];
      if (previous !== undefined && checkStages.indexOf(check.stage) < checkStages.indexOf(previous.stage))
        throw new Error(
          `interaction checks: ${interaction} lists '${check.name}' (${check.stage}) after '${previous.name}' (${previous.stage}), which runs later`,
        );
    });
  }
}
