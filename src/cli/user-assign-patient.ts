import { parseArgs } from 'node:util';
import { assignPatient } from '../access/care-team/assign.js';
import { normalizeUsername } from '../auth/users/username.js';
import type { Runtime } from '../runtime.js';
import { auditOperatorAction, operatingSystemUser } from './operator.js';
import { CliError, type CliIo } from './output.js';

export const userAssignPatientUsage =
  'caduceus user assign-patient (--user ID|USERNAME | --subject SUB) --patient ID [--remove] [--json]';

/** Roles whose reach is a care team (docs/access-control.md); devices are bound with --subject. */
const careTeamRoles: readonly string[] = ['clinician', 'nurse'];

/** The same shapes the admin API accepts (src/access/care-team/routes.ts). */
const subjectShape = /^[\x21-\x7E]{1,255}$/;
const patientShape = /^[A-Za-z0-9\-.]{1,64}$/;

interface AssignRequest {
  readonly user: string | undefined;
  readonly subject: string | undefined;
  readonly patient: string;
  readonly remove: boolean;
  readonly json: boolean;
}

function parseAssignRequest(args: string[]): AssignRequest {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        user: { type: 'string' },
        subject: { type: 'string' },
        patient: { type: 'string' },
        remove: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${userAssignPatientUsage}`, 2);
  }
  if ((values.user === undefined) === (values.subject === undefined))
    throw new CliError(`give exactly one of --user and --subject\nusage: ${userAssignPatientUsage}`, 2);
  if (values.subject !== undefined && !subjectShape.test(values.subject))
    throw new CliError('--subject must be 1 to 255 printable characters without spaces', 2);
  if (values.patient === undefined || !patientShape.test(values.patient))
    throw new CliError(`--patient must be a Patient id\nusage: ${userAssignPatientUsage}`, 2);
  return {
    user: values.user,
    subject: values.subject,
    patient: values.patient,
    remove: values.remove,
    json: values.json,
  };
}

/** The token `sub` to assign: a directory user (by id or username) holding a care-team role, or a subject as given. */
async function subjectOf(runtime: Runtime, request: AssignRequest): Promise<string> {
  if (request.subject !== undefined) return request.subject;
  const typed = request.user ?? '';
  const user =
    (await runtime.db.users.getById(typed)) ?? (await runtime.db.users.getByUsername(normalizeUsername(typed)));
  if (user === undefined) throw new CliError('no such user', 1);
  if (!careTeamRoles.includes(user.role))
    throw new CliError(`only clinicians and nurses join care teams; this user is ${user.role}`, 1);
  return user.id;
}

/**
 * `caduceus user assign-patient`: adds (or with --remove takes away) a
 * care-team assignment, through the same path as the admin API
 * (`POST /api/v1/care-team-assignments`). Audited with the operating-system
 * user, refusals included. Called by src/cli/user.ts.
 */
export async function userAssignPatientCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  const interaction = 'user.assign-patient';
  let request: AssignRequest;
  let subject: string;
  try {
    request = parseAssignRequest(args);
    subject = await subjectOf(runtime, request);
  } catch (error) {
    await auditOperatorAction(runtime, {
      interaction,
      details: { refused: error instanceof CliError && error.exitCode === 2 ? 'usage' : 'user' },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw error;
  }
  const { patient } = request;
  if (request.remove) {
    const removed = await runtime.db.careTeam.unassign(subject, patient);
    await auditOperatorAction(runtime, {
      interaction,
      details: { subject, patient, removed: removed !== undefined },
      status: removed === undefined ? 404 : 200,
      ...(removed === undefined && { code: 'NOT_FOUND' }),
    });
    if (removed === undefined) throw new CliError('no such assignment');
    io.out(request.json ? JSON.stringify({ removed }) : `removed ${removed.id}`);
    return;
  }
  const result = await assignPatient(
    { careTeam: runtime.db.careTeam, resources: runtime.db.resources },
    { subject, patient, assignedBy: `cli:${operatingSystemUser()}` },
  );
  if (result === 'no_such_patient') {
    await auditOperatorAction(runtime, {
      interaction,
      details: { subject, patient },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw new CliError('no current Patient has this id');
  }
  await auditOperatorAction(runtime, {
    interaction,
    details: { subject, patient, id: result.assignment.id, created: result.created },
    status: result.created ? 201 : 200,
  });
  io.out(
    request.json ? JSON.stringify({ assignment: result.assignment, created: result.created }) : result.assignment.id,
  );
}
