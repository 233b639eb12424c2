import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors/index.js';
import type { FhirResource, ResourceDefinition, VersionedResource } from './types.js';

/** FHIR R4 http.html#mime: resources go out as application/fhir+json. */
export const fhirContentType = 'application/fhir+json; charset=utf-8';

/** Weak ETag of a version, as FHIR sends it (http.html#versioning). */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** If-Match as a version number; weak and strong forms are compared by number, as FHIR does. */
export function parseIfMatch(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"(\d{1,9})"$/.exec(header.trim());
  if (match?.[1] === undefined) throw new ApiError('BAD_REQUEST', 'If-Match must be a version ETag such as W/"3"');
  return Number(match[1]);
}

/** Keeps only the elements a role's view allows (billing sees demographics only). */
export function applyView(
  definition: ResourceDefinition,
  request: FastifyRequest,
  resource: FhirResource,
): FhirResource {
  if (request.grant?.view !== 'demographics') return resource;
  const kept: Record<string, unknown> = { resourceType: resource.resourceType };
  for (const key of ['id', 'meta', ...definition.demographicElements]) {
    if (key in resource) kept[key] = resource[key];
  }
  return kept as FhirResource;
}

/** Sends one resource with its version headers. */
export function sendResource(
  reply: FastifyReply,
  definition: ResourceDefinition,
  found: VersionedResource,
  status = 200,
): FastifyReply {
  return reply
    .code(status)
    .type(fhirContentType)
    .header('etag', etagOf(found.version))
    .header('last-modified', new Date(found.lastUpdated).toUTCString())
    .send(applyView(definition, reply.request, found.resource));
}
