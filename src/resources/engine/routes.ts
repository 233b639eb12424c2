import type { FastifyInstance, FastifyRequest } from 'fastify';
import '../../http/request-context.js';
import {
  assertCheckOrder,
  createInteractionContext,
  interactionChecks,
  runChecks,
  type CheckRunner,
} from '../../access/checks/index.js';
import type { Interaction } from '../../access/permissions.js';
import { refuseOtherMethods } from '../../http/method-not-allowed.js';
import type { ResourceEngine } from './engine.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { fhirContentType, parseIfMatch, sendResource } from './http.js';
import type { ResourceDefinition, VersionedResource } from './types.js';
import { ApiError } from '../../errors/index.js';

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
 * The checks of one interaction on this request (src/access/checks/
 * `interactionChecks`: which run, in what order, is stated there, not here).
 */
function checksFor(
  interaction: Interaction,
  request: FastifyRequest,
  options: ResourceRouteOptions,
  id?: string,
): CheckRunner {
  const { engine, definition } = options;
  const context = createInteractionContext({
    interaction,
    request,
    resourceType: definition,
    ...(id !== undefined && {
      id,
      readCurrent: async () => (await engine.read(definition, id)).resource,
    }),
  });
  return runChecks(interactionChecks[interaction], context);
}

/** A read or vread: the version found, if the caller may see it. */
async function readChecked(checks: CheckRunner, read: () => Promise<VersionedResource>): Promise<VersionedResource> {
  await checks.before();
  const found = await checks.guard(read);
  if (!(await checks.reaches(found.resource))) throw new ApiError('FORBIDDEN');
  return found;
}

function pageSize(count: number | undefined, options: ResourceRouteOptions): number {
  return count ?? options.defaultPageSize;
}

/** Registers the FHIR RESTful interactions of one resource type under /api/v1/{path}. */
export function registerResourceRoutes(app: FastifyInstance, options: ResourceRouteOptions): void {
  const { engine, definition } = options;
  // A table whose checks run out of their stages' order stops the start, not a request.
  assertCheckOrder(interactionChecks);
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
      const checks = checksFor('read', request, options, request.params.id);
      const found = await readChecked(checks, () => engine.read(definition, request.params.id));
      return sendResource(reply, found, checks.shown(found.resource));
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
      const checks = checksFor('vread', request, options, request.params.id);
      const found = await readChecked(checks, () => engine.vread(definition, request.params.id, request.params.vid));
      return sendResource(reply, found, checks.shown(found.resource));
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
      const checks = checksFor('history', request, options, request.params.id);
      await checks.before();
      const entries = await checks.guard(() =>
        engine.history(definition, request.params.id, {
          limit,
          ...(before !== undefined && { before: Number(before) }),
        }),
      );
      // A tombstone has no resource to check: whether its history may be seen was decided before reading it.
      for (const entry of entries) {
        if (entry.resource !== null && !(await checks.reaches(entry.resource))) throw new ApiError('FORBIDDEN');
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
          ...(entry.resource !== null && { resource: checks.shown(entry.resource) }),
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
      const checks = checksFor('search', request, options);
      await checks.before();
      const compartments = checks.context.searchCompartments;
      const page = await engine.search(definition, params as Record<string, string | string[]>, {
        limit,
        ...(after !== undefined && { after }),
        ...(compartments !== undefined && { compartment: compartments }),
      });
      // The query already kept to the compartments; the `result` checks guard that invariant and leave out the rest.
      const kept = await Promise.all(page.entries.map((entry) => checks.reaches(entry.resource)));
      const entries = page.entries.filter((_entry, index) => kept[index] === true);
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
          resource: checks.shown(entry.resource),
          search: { mode: 'match' },
        })),
      });
    },
  );

  app.post(base, { config: access('create'), schema: { querystring: noQuery } }, async (request, reply) => {
    const checks = checksFor('create', request, options);
    await checks.before();
    const created = await engine.create(definition, request.body);
    await checks.written(created.resource);
    request.auditDetails = { resourceId: created.resource.id ?? null };
    reply.header('location', `${base}/${created.resource.id ?? ''}`);
    return sendResource(reply, created, checks.shown(created.resource), 201);
  });

  app.put<{ Params: { id: string } }>(
    `${base}/:id`,
    { config: access('update'), schema: { params: idParams, querystring: noQuery } },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request);
      const checks = checksFor('update', request, options, request.params.id);
      await checks.before();
      const updated = await engine.update(
        definition,
        request.params.id,
        request.body,
        ifMatch === undefined ? {} : { ifMatch },
      );
      await checks.written(updated.resource);
      return sendResource(reply, updated, checks.shown(updated.resource));
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${base}/:id`,
    { config: access('delete'), schema: { params: idParams, querystring: noQuery } },
    async (request, reply) => {
      const ifMatch = parseIfMatch(request);
      await checksFor('delete', request, options, request.params.id).before();
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
