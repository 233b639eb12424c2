import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../../audit/request-audit-plugin.js';
import type { Interaction } from '../../auth/permissions.js';
import { refuseOtherMethods } from '../../edge/method-not-allowed.js';
import { ApiError } from '../../errors/index.js';
import type { ResourceEngine } from './engine.js';
import { decodeCursor, encodeCursor, fhirContentType, parseIfMatch, sendResource, applyView } from './http.js';
import type { FhirResource, ResourceDefinition, VersionedResource } from './types.js';

/** FHIR R4 id (datatypes.html#id). */
const idSchema = { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } as const;
const cursorSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' } as const;
/** What a decoded cursor may hold: a history cursor a version number, a search cursor the last id of its page. */
const versionCursor = /^[1-9][0-9]{0,8}$/;
const idCursor = new RegExp(idSchema.pattern);

export interface ResourceRouteOptions {
  readonly engine: ResourceEngine;
  readonly definition: ResourceDefinition;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
}

/** The patient compartment rule: a compartment-bound principal reaches only its own patient's data. */
function inCompartment(request: FastifyRequest, definition: ResourceDefinition, resource: FhirResource): boolean {
  if (request.grant?.ownCompartmentOnly !== true) return true;
  const patient = request.principal?.patient ?? null;
  return patient !== null && definition.patientOf(resource) === patient;
}

/** The Patient a compartment-bound principal's searches are restricted to; refused when the token names none. */
function compartmentOf(request: FastifyRequest): string | undefined {
  if (request.grant?.ownCompartmentOnly !== true) return undefined;
  const patient = request.principal?.patient ?? null;
  if (patient === null) throw new ApiError('FORBIDDEN');
  return patient;
}

/** Reads for a compartment-bound principal answer 403 alike for "absent" and "not yours": no existence oracle. */
async function guarded<T>(request: FastifyRequest, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (request.grant?.ownCompartmentOnly === true && error instanceof ApiError && (error.code === 'NOT_FOUND' || error.code === 'GONE')) {
      throw new ApiError('FORBIDDEN');
    }
    throw error;
  }
}

function requireCompartment(request: FastifyRequest, definition: ResourceDefinition, found: VersionedResource): VersionedResource {
  if (!inCompartment(request, definition, found.resource)) throw new ApiError('FORBIDDEN');
  return found;
}

function pageSize(count: number | undefined, options: ResourceRouteOptions): number {
  return count ?? options.defaultPageSize;
}

/** Registers the FHIR RESTful interactions of one resource type under /api/v1/{path}. */
export function registerResourceRoutes(app: FastifyInstance, options: ResourceRouteOptions): void {
  const { engine, definition } = options;
  const base = `/api/v1/${definition.path}`;
  const access = (interaction: Interaction) => ({ access: { resourceType: definition.type, interaction } });
  const idParams = { type: 'object', required: ['id'], properties: { id: idSchema }, additionalProperties: false } as const;
  const countSchema = { type: 'integer', minimum: 1, maximum: options.maxPageSize } as const;
  // Interactions without parameters refuse any (`_summary`, `_elements`, …): a parameter we ignored would be a silent surprise.
  const noQuery = { type: 'object', additionalProperties: false } as const;

  app.get<{ Params: { id: string } }>(`${base}/:id`, { config: access('read'), schema: { params: idParams, querystring: noQuery } }, async (request, reply) => {
    const found = requireCompartment(request, definition, await guarded(request, () => engine.read(definition, request.params.id)));
    return sendResource(reply, definition, found);
  });

  app.get<{ Params: { id: string; vid: number } }>(`${base}/:id/_history/:vid`, {
    config: access('vread'),
    schema: { params: { type: 'object', required: ['id', 'vid'], properties: { id: idSchema, vid: { type: 'integer', minimum: 1, maximum: 999_999_999 } }, additionalProperties: false }, querystring: noQuery },
  }, async (request, reply) => {
    const found = requireCompartment(request, definition, await guarded(request, () => engine.vread(definition, request.params.id, request.params.vid)));
    return sendResource(reply, definition, found);
  });

  app.get<{ Params: { id: string }; Querystring: { _count?: number; _cursor?: string } }>(`${base}/:id/_history`, {
    config: access('history'),
    schema: { params: idParams, querystring: { type: 'object', properties: { _count: countSchema, _cursor: cursorSchema }, additionalProperties: false } },
  }, async (request, reply) => {
    const limit = pageSize(request.query._count, options);
    const before = decodeCursor(request.query._cursor, versionCursor);
    // A compartment-bound principal sees the history of a live resource of its own only:
    // a tombstone carries no resource to check, and must not tell that another patient existed.
    if (request.grant?.ownCompartmentOnly === true) {
      await guarded(request, async () => requireCompartment(request, definition, await engine.read(definition, request.params.id)));
    }
    const entries = await guarded(request, () => engine.history(definition, request.params.id, { limit, ...(before !== undefined && { before: Number(before) }) }));
    for (const entry of entries) {
      if (entry.resource !== null && !inCompartment(request, definition, entry.resource)) throw new ApiError('FORBIDDEN');
    }
    request.auditDetails = { resultIds: [request.params.id] };
    const last = entries.at(-1);
    // Versions run 1..n without gaps: older ones remain exactly when the page stopped above version 1.
    const next = entries.length === limit && last !== undefined && last.version > 1 ? `${base}/${request.params.id}/_history?_count=${limit}&_cursor=${encodeCursor(String(last.version))}` : undefined;
    return reply.type(fhirContentType).send({
      resourceType: 'Bundle',
      type: 'history',
      ...(next !== undefined && { link: [{ relation: 'next', url: next }] }),
      entry: entries.map((entry) => ({
        fullUrl: `${base}/${entry.id}`,
        ...(entry.resource !== null && { resource: applyView(definition, request, entry.resource) }),
        request: { method: entry.deleted ? 'DELETE' : entry.version === 1 ? 'POST' : 'PUT', url: entry.version === 1 ? base : `${base}/${entry.id}` },
        response: { status: entry.deleted ? '204' : entry.version === 1 ? '201' : '200', etag: `W/"${entry.version}"`, lastModified: entry.lastUpdated },
      })),
    });
  });

  app.get<{ Querystring: Record<string, string | string[]> }>(base, {
    config: access('search'),
    schema: { querystring: { type: 'object', properties: { _count: countSchema, _cursor: cursorSchema } } },
  }, async (request, reply) => {
    const { _count, _cursor, ...params } = request.query as Record<string, unknown>;
    const limit = pageSize(_count as number | undefined, options);
    const after = decodeCursor(_cursor as string | undefined, idCursor);
    const compartment = compartmentOf(request);
    const page = await engine.search(definition, params as Record<string, string | string[]>, { limit, ...(after !== undefined && { after }), ...(compartment !== undefined && { compartment }) });
    // The query already kept to the compartment; this re-check costs nothing and guards the invariant.
    const entries = page.entries.filter((entry) => inCompartment(request, definition, entry.resource));
    request.auditDetails = { searchParams: Object.keys(params).sort(), resultIds: entries.map((entry) => entry.resource.id ?? '') };
    const next = page.next === undefined ? undefined : nextSearchUrl(base, request, limit, page.next);
    return reply.type(fhirContentType).send({
      resourceType: 'Bundle',
      type: 'searchset',
      ...(next !== undefined && { link: [{ relation: 'next', url: next }] }),
      entry: entries.map((entry) => ({ fullUrl: `${base}/${entry.resource.id ?? ''}`, resource: applyView(definition, request, entry.resource), search: { mode: 'match' } })),
    });
  });

  app.post(base, { config: access('create'), schema: { querystring: noQuery } }, async (request, reply) => {
    const created = await engine.create(definition, request.body);
    request.auditDetails = { resourceId: created.resource.id ?? null };
    return sendResource(reply.header('location', `${base}/${created.resource.id ?? ''}`), definition, created, 201);
  });

  app.put<{ Params: { id: string } }>(`${base}/:id`, { config: access('update'), schema: { params: idParams, querystring: noQuery } }, async (request, reply) => {
    const ifMatch = parseIfMatch(request);
    await guarded(request, async () => requireCompartment(request, definition, await engine.read(definition, request.params.id)));
    const updated = await engine.update(definition, request.params.id, request.body, ifMatch === undefined ? {} : { ifMatch });
    return sendResource(reply, definition, updated);
  });

  app.delete<{ Params: { id: string } }>(`${base}/:id`, { config: access('delete'), schema: { params: idParams, querystring: noQuery } }, async (request, reply) => {
    const ifMatch = parseIfMatch(request);
    await engine.delete(definition, request.params.id, ifMatch === undefined ? {} : { ifMatch });
    return reply.code(204).send();
  });

  refuseOtherMethods(app, base, ['GET', 'POST']);
  refuseOtherMethods(app, `${base}/:id`, ['GET', 'PUT', 'DELETE']);
  refuseOtherMethods(app, `${base}/:id/_history`, ['GET']);
  refuseOtherMethods(app, `${base}/:id/_history/:vid`, ['GET']);
}

/** The next page's URL: the same parameters with a new cursor. */
function nextSearchUrl(base: string, request: FastifyRequest, limit: number, after: string): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
    if (name === '_cursor' || name === '_count') continue;
    for (const item of Array.isArray(value) ? value : [value]) query.append(name, String(item));
  }
  query.set('_count', String(limit));
  query.set('_cursor', encodeCursor(after));
  return `${base}?${query.toString()}`;
}
