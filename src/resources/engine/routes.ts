import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../../http/request-context.js';
import type { Interaction } from '../../access/permissions.js';
import { refuseOtherMethods } from '../../http/method-not-allowed.js';
import { ApiError } from '../../errors/index.js';
import type { ResourceEngine } from './engine.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { fhirContentType, parseIfMatch, sendResource, applyView } from './http.js';
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

/**
 * The patient compartment rule (docs/access-control.md): a restricted
 * principal (own patient, care team, patient/ scope: `request.reach`)
 * reaches only resources in the compartments it may reach.
 */
async function inCompartment(
  request: FastifyRequest,
  definition: ResourceDefinition,
  resource: FhirResource,
): Promise<boolean> {
  return request.reach === null || request.reach.allows(definition.patientOf(resource));
}

/**
 * A Patient's compartment is its own id (FHIR compartmentdefinition-patient),
 * so whether a restricted principal reaches a Patient is known from the id
 * alone, before anything is read.
 */
async function reachesPatientId(request: FastifyRequest, definition: ResourceDefinition, id: string): Promise<boolean> {
  return definition.type === 'Patient' && request.reach !== null && request.reach.allows(id);
}

/**
 * Reads for a restricted principal answer 403 alike for "absent" and "not
 * yours": no existence oracle. Only a Patient id it reaches keeps its 404 or
 * 410 (its own deleted record, say).
 */
async function guarded<T>(
  request: FastifyRequest,
  definition: ResourceDefinition,
  id: string,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (request.reach !== null && error instanceof ApiError && (error.code === 'NOT_FOUND' || error.code === 'GONE')) {
      if (await reachesPatientId(request, definition, id)) throw error;
      throw new ApiError('FORBIDDEN');
    }
    throw error;
  }
}

async function requireCompartment(
  request: FastifyRequest,
  definition: ResourceDefinition,
  found: VersionedResource,
): Promise<VersionedResource> {
  if (!(await inCompartment(request, definition, found.resource))) throw new ApiError('FORBIDDEN');
  return found;
}

/**
 * A restricted principal writes only into compartments it reaches: the
 * Patient a body belongs to is checked before anything is stored. A body
 * too malformed to name one is refused alike (403, not 400: it says nothing).
 * A Patient body opens its own compartment instead (checked on create).
 */
async function requireBodyCompartment(request: FastifyRequest, definition: ResourceDefinition): Promise<void> {
  if (request.reach === null || definition.type === 'Patient') return;
  let patient: string | null;
  try {
    patient =
      typeof request.body === 'object' && request.body !== null
        ? definition.patientOf(request.body as FhirResource)
        : null;
  } catch {
    patient = null;
  }
  if (!(await request.reach.allows(patient))) throw new ApiError('FORBIDDEN');
}

function pageSize(count: number | undefined, options: ResourceRouteOptions): number {
  return count ?? options.defaultPageSize;
}

/** Registers the FHIR RESTful interactions of one resource type under /api/v1/{path}. */
export function registerResourceRoutes(app: FastifyInstance, options: ResourceRouteOptions): void {
  const { engine, definition } = options;
  const base = `/api/v1/${definition.path}`;
  const access = (interaction: Interaction) => ({ access: { resourceType: definition.type, interaction } });
  const idParams = {
    type: 'object',
    required: ['id'],
    properties: { id: idSchema },
    additionalProperties: false,
  } as const;
  const countSchema = { type: 'integer', minimum: 1, maximum: options.maxPageSize } as const;
  // Interactions without parameters refuse any (`_summary`, `_elements`, …): a parameter we ignored would be a silent surprise.
  const noQuery = { type: 'object', additionalProperties: false } as const;

  app.get<{ Params: { id: string } }>(
    `${base}/:id`,
    { config: access('read'), schema: { params: idParams, querystring: noQuery } },
    async (request, reply) => {
      const found = await requireCompartment(
        request,
        definition,
        await guarded(request, definition, request.params.id, () => engine.read(definition, request.params.id)),
      );
      return sendResource(reply, definition, found);
    },
  );

  app.get<{ Params: { id: string; vid: number } }>(
    `${base}/:id/_history/:vid`,
    {
      config: access('vread'),
      schema: {
        params: {
          type: 'object',
          required: ['id', 'vid'],
          properties: { id: idSchema, vid: { type: 'integer', minimum: 1, maximum: 999_999_999 } },
          additionalProperties: false,
        },
        querystring: noQuery,
      },
    },
    async (request, reply) => {
      const found = await requireCompartment(
        request,
        definition,
        await guarded(request, definition, request.params.id, () =>
          engine.vread(definition, request.params.id, request.params.vid),
        ),
      );
      return sendResource(reply, definition, found);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { _count?: number; _cursor?: string } }>(
    `${base}/:id/_history`,
    {
      config: access('history'),
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          properties: { _count: countSchema, _cursor: cursorSchema },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const limit = pageSize(request.query._count, options);
      const before = decodeCursor(request.query._cursor, versionCursor);
      // A restricted principal sees the history of a resource it reaches: a Patient by its id (tombstone
      // included); another type only while live, since a tombstone carries no patient to check and must
      // not tell that another patient's record existed.
      const reachedById = await reachesPatientId(request, definition, request.params.id);
      if (request.reach !== null && !reachedById) {
        await guarded(request, definition, request.params.id, async () =>
          requireCompartment(request, definition, await engine.read(definition, request.params.id)),
        );
      }
      const entries = await guarded(request, definition, request.params.id, () =>
        engine.history(definition, request.params.id, {
          limit,
          ...(before !== undefined && { before: Number(before) }),
        }),
      );
      for (const entry of entries) {
        if (!reachedById && entry.resource !== null && !(await inCompartment(request, definition, entry.resource)))
          throw new ApiError('FORBIDDEN');
      }
      request.auditDetails = { resultIds: [request.params.id] };
      const last = entries.at(-1);
      // Versions run 1..n without gaps: older ones remain exactly when the page stopped above version 1.
      const next =
        entries.length === limit && last !== undefined && last.version > 1
          ? `${base}/${request.params.id}/_history?_count=${limit}&_cursor=${encodeCursor(String(last.version))}`
          : undefined;
      return reply.type(fhirContentType).send({
        resourceType: 'Bundle',
        type: 'history',
        ...(next !== undefined && { link: [{ relation: 'next', url: next }] }),
        entry: entries.map((entry) => ({
          fullUrl: `${base}/${entry.id}`,
          ...(entry.resource !== null && { resource: applyView(definition, request, entry.resource) }),
          request: {
            method: entry.deleted ? 'DELETE' : entry.version === 1 ? 'POST' : 'PUT',
            url: entry.version === 1 ? base : `${base}/${entry.id}`,
          },
          response: {
            status: entry.deleted ? '204' : entry.version === 1 ? '201' : '200',
            etag: `W/"${entry.version}"`,
            lastModified: entry.lastUpdated,
          },
        })),
      });
    },
  );

  app.get<{ Querystring: Record<string, string | string[]> }>(
    base,
    {
      config: access('search'),
      schema: { querystring: { type: 'object', properties: { _count: countSchema, _cursor: cursorSchema } } },
    },
    async (request, reply) => {
      const { _count, _cursor, ...params } = request.query as Record<string, unknown>;
      const limit = pageSize(_count as number | undefined, options);
      const after = decodeCursor(_cursor as string | undefined, idCursor);
      // A restricted principal's search keeps to its compartments in the query itself, so pages and cursors never count others.
      const compartments = request.reach === null ? undefined : await request.reach.patients();
      const page = await engine.search(definition, params as Record<string, string | string[]>, {
        limit,
        ...(after !== undefined && { after }),
        ...(compartments !== undefined && { compartment: compartments }),
      });
      // The query already kept to the compartments; this re-check costs nothing and guards the invariant.
      const reachable = compartments === undefined ? undefined : new Set(compartments);
      const entries = page.entries.filter((entry) => {
        if (reachable === undefined) return true;
        const patient = definition.patientOf(entry.resource);
        return patient !== null && reachable.has(patient);
      });
      request.auditDetails = {
        searchParams: Object.keys(params).sort(),
        resultIds: entries.map((entry) => entry.resource.id ?? ''),
      };
      const next = page.next === undefined ? undefined : nextSearchUrl(base, request, limit, page.next);
      return reply.type(fhirContentType).send({
        resourceType: 'Bundle',
        type: 'searchset',
        ...(next !== undefined && { link: [{ relation: 'next', url: next }] }),
        entry: entries.map((entry) => ({
          fullUrl: `${base}/${entry.resource.id ?? ''}`,
          resource: applyView(definition, request, entry.resource),
          search: { mode: 'match' },
        })),
      });
    },
  );

  app.post(base, { config: access('create'), schema: { querystring: noQuery } }, async (request, reply) => {
    const reach = request.reach;
    // A new Patient opens a new compartment: only an unrestricted caller or a care team's member (then assigned to it) may.
    if (reach !== null && definition.type === 'Patient' && !reach.opensCompartments) throw new ApiError('FORBIDDEN');
    await requireBodyCompartment(request, definition);
    const created = await engine.create(definition, request.body);
    if (reach !== null && definition.type === 'Patient') await reach.admit(created.resource.id ?? '');
    request.auditDetails = { resourceId: created.resource.id ?? null };
    return sendResource(reply.header('location', `${base}/${created.resource.id ?? ''}`), definition, created, 201);
  });

  app.put<{ Params: { id: string } }>(
    `${base}/:id`,
    { config: access('update'), schema: { params: idParams, querystring: noQuery } },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request);
      await guarded(request, definition, request.params.id, async () =>
        requireCompartment(request, definition, await engine.read(definition, request.params.id)),
      );
      await requireBodyCompartment(request, definition);
      const updated = await engine.update(
        definition,
        request.params.id,
        request.body,
        ifMatch === undefined ? {} : { ifMatch },
      );
      return sendResource(reply, definition, updated);
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${base}/:id`,
    { config: access('delete'), schema: { params: idParams, querystring: noQuery } },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request);
      if (request.reach !== null) {
        await guarded(request, definition, request.params.id, async () =>
          requireCompartment(request, definition, await engine.read(definition, request.params.id)),
        );
      }
      await engine.delete(definition, request.params.id, ifMatch === undefined ? {} : { ifMatch });
      return reply.code(204).send();
    },
  );

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
