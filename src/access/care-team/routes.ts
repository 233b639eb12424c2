import { Ajv } from 'ajv';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import '../../http/request-context.js';
import '../access-rule.js';
import { auditedParamNames, cursorParamSchema, nextPageUrl } from '../../http/query-params.js';
import { refuseOtherMethods } from '../../http/method-not-allowed.js';
import { ApiError } from '../../errors/index.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import type { ResourceStore } from '../../storage/ports.js';
import type { Interaction } from '../permissions.js';
import { assignPatient } from './assign.js';
import type { CareTeamStore } from '../../storage/care-team-ports.js';

/** What the care-team administration API needs. */
export interface CareTeamRouteOptions {
  readonly careTeam: CareTeamStore;
  readonly resources: ResourceStore;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
}

const base = '/api/v1/care-team-assignments';

/** A token `sub`: printable ASCII without spaces (RFC 7519 StringOrURI as our tokens carry it). */
export const subjectSchema = { type: 'string', pattern: '^[\\x21-\\x7E]{1,255}$' } as const;
/** FHIR R4 id (datatypes.html#id). */
export const patientIdSchema = { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } as const;
const idSchema = { type: 'string', pattern: '^[0-9a-f-]{36}$' } as const;
const idShape = /^[0-9a-f-]{36}$/;

/**
 * Fastify's default Ajv coerces body types (`7` would pass as `"7"`); an
 * administrative body must be exactly what its schema says, so bodies are
 * compiled without coercion. Query strings arrive as text and keep it.
 */
function strictBodyCompiler(): FastifySchemaCompiler<unknown> {
  const strict = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: false });
  const coercing = new Ajv({ coerceTypes: 'array', removeAdditional: false, allErrors: false });
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object);
}

/** Care-team administration decides who reaches which patients: sensitive, so admins only and only with MFA. */
function access(interaction: Interaction) {
  return { access: { resourceType: 'CareTeamAssignment', interaction, sensitive: true } } as const;
}

interface ListQuery {
  readonly subject?: string;
  readonly patient?: string;
  readonly _count?: number;
  readonly _cursor?: string;
}

/**
 * `POST/GET/DELETE /api/v1/care-team-assignments` (docs/access-control.md
 * "Care teams"): which patients a clinician, nurse or device reaches. Every
 * request is audited by the request-audit layer; changes name the subject
 * and Patient id in the event's details.
 */
export function registerCareTeamRoutes(app: FastifyInstance, options: CareTeamRouteOptions): void {
  const { careTeam } = options;
  const validatorCompiler = strictBodyCompiler();

  app.post<{ Body: { subject: string; patient: string } }>(
    base,
    {
      config: access('create'),
      validatorCompiler,
      schema: {
        querystring: { type: 'object', additionalProperties: false },
        body: {
          type: 'object',
          required: ['subject', 'patient'],
          properties: { subject: subjectSchema, patient: patientIdSchema },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { subject, patient } = request.body;
      const by = request.principal?.subject ?? 'unknown';
      const result = await assignPatient(
        { careTeam, resources: options.resources },
        { subject, patient, assignedBy: by },
      );
      if (result === 'no_such_patient')
        throw new ApiError('VALIDATION_ERROR', 'patient: no current Patient has this id');
      request.auditDetails = {
        resourceId: result.assignment.id,
        details: { subject, patient, created: String(result.created) },
      };
      return reply
        .code(result.created ? 201 : 200)
        .header('location', `${base}/${result.assignment.id}`)
        .send(result.assignment);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    base,
    {
      config: access('search'),
      validatorCompiler,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            subject: subjectSchema,
            patient: patientIdSchema,
            _count: { type: 'integer', minimum: 1, maximum: options.maxPageSize },
            _cursor: cursorParamSchema,
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      request.auditDetails = { searchParams: auditedParamNames(request.query) };
      const { subject, patient, _count, _cursor } = request.query;
      const after = decodeCursor(_cursor, idShape);
      const limit = _count ?? options.defaultPageSize;
      const found = await careTeam.list({
        ...(subject !== undefined && { subject }),
        ...(patient !== undefined && { patient }),
        ...(after !== undefined && { after }),
        limit: limit + 1,
      });
      const page = found.slice(0, limit);
      const last = page.at(-1);
      const next =
        found.length > limit && last !== undefined
          ? nextPageUrl(base, request.query, encodeCursor(last.id), limit)
          : null;
      return reply.type('application/json; charset=utf-8').send({ assignments: page, next });
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${base}/:id`,
    {
      config: access('delete'),
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: idSchema }, additionalProperties: false },
        querystring: { type: 'object', additionalProperties: false },
      },
    },
    async (request, reply) => {
      const removed = await careTeam.remove(request.params.id);
      if (removed === undefined) throw new ApiError('NOT_FOUND');
      request.auditDetails = {
        resourceId: removed.id,
        details: { subject: removed.subject, patient: removed.patient },
      };
      return reply.code(204).send();
    },
  );

  refuseOtherMethods(app, base, ['GET', 'POST']);
  refuseOtherMethods(app, `${base}/:id`, ['DELETE']);
}
