import type { IndexEntry } from '../../storage/ports.js';
import type { FhirResource, ValidationMode, ValidationResult } from '../fhir/validator.js';
import type { ParsedSearch } from '../search/types.js';

export type { FhirResource, ValidationMode, ValidationResult, ParsedSearch };

/**
 * What the engine needs to know about one resource type. Adding Observation
 * or Coverage means writing one of these; the engine stays as it is.
 */
export interface ResourceDefinition {
  /** FHIR resourceType, e.g. "Patient". */
  readonly type: string;
  /** The URL segment under /api/v1, plural: "patients". */
  readonly path: string;
  validate(body: unknown, mode: ValidationMode): ValidationResult;
  /** The search-index rows of a resource (tokens already through the tokenizer). */
  index(resource: FhirResource): IndexEntry[];
  /** Parses search parameters (control parameters like _count are taken out first). */
  parseSearch(query: Readonly<Record<string, string | string[]>>): ParsedSearch;
  /** The Patient whose compartment holds a resource (FHIR compartmentdefinition-patient), if any. */
  patientOf(resource: FhirResource): string | null;
  /** The elements a `demographics` view keeps (billing). */
  readonly demographicElements: readonly string[];
}

/** A resource as read, with the version facts the HTTP layer needs. */
export interface VersionedResource {
  readonly resource: FhirResource;
  readonly version: number;
  readonly lastUpdated: string;
}

/** One entry of a history: a tombstone has no resource. */
export interface HistoryEntry {
  readonly id: string;
  readonly version: number;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly resource: FhirResource | null;
}
