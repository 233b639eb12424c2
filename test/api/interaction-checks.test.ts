/**
 * The per-interaction checks (DESIGN.md request path step 7,
 * src/access/checks/index.ts): which checks run for each FHIR interaction,
 * in which order, is one table; the resource routes run exactly it. The
 * behaviour of each check is covered over HTTP by test/api/access-control,
 * care-team-api and patients-*.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCheckOrder, interactionChecks, type InteractionCheck } from '../../src/access/checks/index.js';
import { interactions } from '../../src/access/permissions.js';

/** The table, written out: a change to it is a change to what protects each interaction, and shows up here. */
const expected: Record<string, readonly string[]> = {
  read: ['hide-absence', 'result-compartment', 'demographics-view'],
  vread: ['hide-absence', 'result-compartment', 'demographics-view'],
  history: ['history-compartment', 'hide-absence', 'result-compartment', 'demographics-view'],
  search: ['search-compartment', 'result-compartment', 'demographics-view'],
  create: ['opens-compartment', 'body-compartment', 'admit-creator', 'demographics-view'],
  update: ['stored-compartment', 'current-version', 'body-compartment', 'demographics-view'],
  delete: ['stored-compartment'],
};

test('every interaction runs exactly its listed checks, in order', () => {
  assert.deepEqual(Object.keys(interactionChecks).sort(), [...interactions].sort());
  for (const interaction of interactions) {
    assert.deepEqual(
      interactionChecks[interaction].map((check) => check.name),
      expected[interaction],
      interaction,
    );
  }
});

test('every interaction that shows a resource keeps to the compartments and the role view', () => {
  for (const interaction of ['read', 'vread', 'history', 'search'] as const) {
    const names = interactionChecks[interaction].map((check) => check.name);
    assert.ok(names.includes('result-compartment'), interaction);
    assert.ok(names.includes('demographics-view'), interaction);
  }
  for (const interaction of ['create', 'update'] as const) {
    assert.ok(
      interactionChecks[interaction].some((check) => check.name === 'body-compartment'),
      `${interaction} checks the body's compartment before storing it`,
    );
  }
});

test('the table keeps each list in stage order; a list that does not is refused', () => {
  assert.doesNotThrow(() => {
    assertCheckOrder(interactionChecks);
  });
  const before: InteractionCheck = { name: 'first', stage: 'before', run: () => Promise.resolve() };
  const shown: InteractionCheck = { name: 'view', stage: 'shown', run: (_context, resource) => resource };
  assert.throws(() => {
    assertCheckOrder({ read: [shown, before] });
  }, /read lists 'first' \(before\) after 'view' \(shown\)/);
  assert.throws(() => {
    assertCheckOrder({ read: [before, before] });
  }, /lists 'first' twice/);
});
