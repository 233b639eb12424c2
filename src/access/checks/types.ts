import type { FastifyRequest } from 'fastify';
import type { Interaction } from '../permissions.js';
import '../access-rule.js';

/** A resource as the checks see it (FHIR R4 Resource): enough to name its type, id and elements. */
export interface CheckedResource {
  readonly resourceType: string;
  readonly id?: string;
  readonly [element: string]: unknown;
}

/** What the checks know of a resource type, without importing the engine that defines it. */
export interface CheckedType {
  readonly type: string;
  /** The Patient whose compartment holds a resource (FHIR compartmentdefinition-patient), if any. */
  patientOf(resource: CheckedResource): string | null;
  /** The elements a `demographics` view keeps (billing). */
  readonly demographicElements: readonly string[];
}

/** One interaction on one resource, as its checks see it (./context.ts builds it). */
export interface InteractionContext {
  readonly interaction: Interaction;
  readonly request: FastifyRequest;
  readonly resourceType: CheckedType;
  /** The id in the path; null for search and create. */
  readonly id: string | null;
  /** The current version of `id`, read once however many checks ask; absent or deleted throws NOT_FOUND or GONE. */
  current(): Promise<CheckedResource>;
  /** True when the caller reaches this Patient's compartment (always when unrestricted); asked once per Patient. */
  reaches(patient: string | null): Promise<boolean>;
  /** The compartments a search keeps to, in the query itself; undefined: unrestricted. */
  readonly searchCompartments: readonly string[] | undefined;
  /** Restricts the search to these compartments (the search-compartment check). */
  restrictSearch(patients: readonly string[]): void;
}

/**
 * One named check (STYLE.md #3), run at its stage of the interaction:
 * `before` storage is touched (refuses by throwing); `missing` when the
 * addressed resource is absent or deleted (throws what the caller may learn);
 * `result` for each resource returned (false: not the caller's to see);
 * `written` after a create is stored; `shown` shapes what the response shows.
 */
export type InteractionCheck =
  | { readonly name: string; readonly stage: 'before'; run(context: InteractionContext): Promise<void> }
  | { readonly name: string; readonly stage: 'missing'; run(context: InteractionContext, error: Error): Promise<void> }
  | {
      readonly name: string;
      readonly stage: 'result';
      run(context: InteractionContext, resource: CheckedResource): Promise<boolean>;
    }
  | {
      readonly name: string;
      readonly stage: 'shown';
      run(context: InteractionContext, resource: CheckedResource): CheckedResource;
    }
  | {
      readonly name: string;
      readonly stage: 'written';
      run(context: InteractionContext, resource: CheckedResource): Promise<void>;
    };

/** The stages in the order an interaction meets them; a table's list keeps to it. */
export const checkStages = ['before', 'missing', 'result', 'written', 'shown'] as const;

/** A stage of an interaction. */
export type CheckStage = (typeof checkStages)[number];
