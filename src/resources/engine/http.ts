import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors/index.js';
import type { FhirResource, VersionedResource } from './types.js';

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

/** Sends one resource with its version headers; `shown` is what the interaction's checks let the caller see of it. */
export function sendResource(
  reply: FastifyReply,
  found: VersionedResource,
  shown: FhirResource,
  status = 200,
): FastifyReply {
  return reply
    .code(status)
    .type(fhirContentType)
    .header('etag', etagOf(found.version))
    .header('last-modified', new Date(found.lastUpdated).toUTCString())
    .send(shown);
}
