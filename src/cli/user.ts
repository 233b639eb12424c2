/**
 * `caduceus user …`: the operator commands of the user directory
 * (docs/users.md). Every run is audited with the operating-system user,
 * refusals included, and never with a password; `--json` prints one JSON
 * line (errors too, on stderr).
 */
import { parseArgs } from 'node:util';
import { createHashThreads } from '../auth/users/hash-threads.js';
import { createHashingQueue } from '../auth/users/hashing-queue.js';
import { createPasswordHasher } from '../auth/users/password-hasher.js';
import { loadCommonPasswords } from '../auth/users/password-policy.js';
import type { UserSummary } from '../storage/user-ports.js';
import {
  createUserAdmin,
  UserAdminError,
  userRoles,
  type UserAdmin,
  type UserAdminRefusal,
} from '../auth/users/user-admin.js';
import type { Runtime } from '../runtime.js';
import { auditOperatorAction } from './operator.js';
import { CliError, type CliIo } from './output.js';
import { readNewPassword } from './password-input.js';
import { revokeAllOfUser } from './token-revoke.js';
import { userAssignPatientCommand, userAssignPatientUsage } from './user-assign-patient.js';

export const userUsage = [
  `caduceus user create --username NAME --role ${userRoles.join('|')} [--kind admin|clinical] [--patient ID] [--json]  (password on stdin or at the prompt)`,
  'caduceus user list [--after NAME] [--limit N] [--json]',
  "caduceus user disable --user ID|NAME [--json]     (also ends the user's grants, refresh tokens, sessions and live access tokens)",
  'caduceus user enable --user ID|NAME [--json]',
  'caduceus user link-patient --user ID|NAME --patient ID [--json]',
  'caduceus user reset-mfa --user ID|NAME [--json]',
  userAssignPatientUsage,
].join('\n  ');

/** Refusals that are the operator's input (exit 2) rather than the directory's state (exit 1). */
const inputRefusals: ReadonlySet<UserAdminRefusal> = new Set([
  'invalid_username',
  'invalid_role',
  'invalid_kind',
  'kind_mismatch',
  'weak_password',
  'patient_required',
  'patient_not_allowed',
]);

type Details = Readonly<Record<string, string | number | boolean>>;

/** What a command did: its audit details and status, and what it prints. */
interface Outcome {
  readonly details: Details;
  readonly status: number;
  readonly json: unknown;
  readonly text: string;
}

function openAdmin(runtime: Runtime): UserAdmin {
  const { users: settings } = runtime.config;
  // One hash per run: a queue of one, nothing waiting, on one thread at the command's own priority (it serves no API).
  const hasher = createPasswordHasher(
    { fips: runtime.config.fips, argon2: settings.argon2, pbkdf2Iterations: settings.pbkdf2Iterations },
    createHashingQueue({ maxConcurrent: 1, maxWaiting: 0 }),
    createHashThreads({ size: 1, nice: 0 }),
  );
  return createUserAdmin({
    users: runtime.db.users,
    hasher,
    common: loadCommonPasswords(),
    patientExists: async (id) => {
      const current = await runtime.db.resources.readCurrent('Patient', id);
      return current !== undefined && !current.deleted;
    },
  });
}

const options = {
  username: { type: 'string' },
  role: { type: 'string' },
  kind: { type: 'string' },
  patient: { type: 'string' },
  user: { type: 'string' },
  after: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; strict: true }>>['values'];

/** Parses the options, allowing only `allowed` (and --json). */
function parseOptions(args: string[], allowed: readonly (keyof typeof options)[]): Values {
  let values: Values;
  try {
    ({ values } = parseArgs({ args, options, strict: true }));
  } catch {
    throw new CliError(`unknown or malformed option\nusage:\n  ${userUsage}`, 2);
  }
  for (const name of Object.keys(values)) {
    if (name !== 'json' && !(allowed as readonly string[]).includes(name))
      throw new CliError(`--${name} is not an option of this command\nusage:\n  ${userUsage}`, 2);
  }
  return values;
}

function required(values: Values, name: 'username' | 'role' | 'user' | 'patient'): string {
  const value = values[name];
  if (value === undefined || value === '') throw new CliError(`--${name} is required\nusage:\n  ${userUsage}`, 2);
  return value;
}

function describe(user: UserSummary): string {
  return [user.id, user.username, user.role, user.kind, user.status, user.patientId ?? '-'].join('\t');
}

/**
 * Runs one command: parse, act, audit, print. A refusal is audited with its
 * reason (never the input) and becomes a CliError, as JSON under --json.
 */
async function runUserCommand(
  runtime: Runtime,
  io: CliIo,
  args: string[],
  interaction: string,
  allowed: readonly (keyof typeof options)[],
  act: (values: Values, admin: UserAdmin) => Promise<Outcome>,
): Promise<void> {
  const json = args.includes('--json');
  let outcome: Outcome;
  try {
    outcome = await act(parseOptions(args, allowed), openAdmin(runtime));
  } catch (error) {
    const refusal = error instanceof UserAdminError ? error.reason : error instanceof CliError ? 'usage' : undefined;
    if (refusal === undefined) throw error;
    const notFound = refusal === 'not_found';
    await auditOperatorAction(runtime, {
      interaction,
      details: { refused: refusal },
      status: notFound ? 404 : 400,
      code: notFound ? 'NOT_FOUND' : 'VALIDATION_ERROR',
    });
    if (error instanceof CliError)
      throw json
        ? new CliError(
            JSON.stringify({ error: { reason: refusal, message: error.message.split('\n')[0] } }),
            error.exitCode,
          )
        : error;
    const exitCode = inputRefusals.has(refusal as UserAdminRefusal) ? 2 : 1;
    throw new CliError(
      json
        ? JSON.stringify({ error: { reason: refusal, message: (error as Error).message } })
        : (error as Error).message,
      exitCode,
    );
  }
  await auditOperatorAction(runtime, { interaction, details: outcome.details, status: outcome.status });
  io.out(json ? JSON.stringify(outcome.json) : outcome.text);
}

async function create(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  await runUserCommand(
    runtime,
    io,
    args,
    'user.create',
    ['username', 'role', 'kind', 'patient'],
    async (values, admin) => {
      const username = required(values, 'username');
      const role = required(values, 'role');
      const password = await readNewPassword();
      const user = await admin.create({
        username,
        role,
        password,
        ...(values.kind !== undefined && { kind: values.kind }),
        ...(values.patient !== undefined && { patientId: values.patient }),
      });
      const details = {
        userId: user.id,
        username: user.username,
        role: user.role,
        kind: user.kind,
        ...(user.patientId !== null && { patient: user.patientId }),
      };
      return { details, status: 201, json: user, text: describe(user) };
    },
  );
}

async function list(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  await runUserCommand(runtime, io, args, 'user.list', ['after', 'limit'], async (values, admin) => {
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new CliError('--limit must be a whole number from 1 to 1000', 2);
    const users = await admin.list({ limit, ...(values.after !== undefined && { after: values.after }) });
    const next = users.length === limit ? users.at(-1)?.username : undefined;
    return {
      details: { count: users.length },
      status: 200,
      json: { users, ...(next !== undefined && { next }) },
      text: users.map(describe).join('\n'),
    };
  });
}

function setStatus(status: 'active' | 'disabled') {
  return (runtime: Runtime, args: string[], io: CliIo): Promise<void> =>
    runUserCommand(
      runtime,
      io,
      args,
      status === 'active' ? 'user.enable' : 'user.disable',
      ['user'],
      async (values, admin) => {
        const user = await admin.setStatus(await admin.find(required(values, 'user')), status);
        if (status === 'active')
          return {
            details: { userId: user.id, username: user.username, status, tokensRevoked: false },
            status: 200,
            json: { ...user, tokensRevoked: false },
            text: describe(user),
          };
        // Disabling is `token revoke --user` too: every grant, refresh token and session ends, and every live access token is refused (RFC 7009 §2).
        const revoked = await revokeAllOfUser(runtime, user.id);
        const details = {
          userId: user.id,
          username: user.username,
          status,
          tokensRevoked: true,
          grants: revoked.grants,
          records: revoked.records,
        };
        return {
          details,
          status: 200,
          json: { ...user, tokensRevoked: true, grantsRevoked: revoked.grants, recordsDeleted: revoked.records },
          text: describe(user),
        };
      },
    );
}

async function linkPatient(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  await runUserCommand(runtime, io, args, 'user.link-patient', ['user', 'patient'], async (values, admin) => {
    const user = await admin.linkPatient(await admin.find(required(values, 'user')), required(values, 'patient'));
    return {
      details: { userId: user.id, patient: user.patientId ?? '' },
      status: 200,
      json: user,
      text: describe(user),
    };
  });
}

async function resetMfa(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  await runUserCommand(runtime, io, args, 'user.reset-mfa', ['user'], async (values, admin) => {
    const user = await admin.find(required(values, 'user'));
    const removed = await runtime.db.mfaFactors.resetFactors(user.id);
    const result = { userId: user.id, factorsRemoved: removed.factors, recoveryCodesRemoved: removed.recoveryCodes };
    return {
      details: result,
      status: 200,
      json: result,
      text: `removed ${String(removed.factors)} factor(s) and ${String(removed.recoveryCodes)} recovery code(s)`,
    };
  });
}

type Command = (runtime: Runtime, args: string[], io: CliIo) => Promise<void>;

/** The `user` commands, keyed as src/cli/run.ts dispatches them. */
export const userCommands: Readonly<Record<string, Command>> = {
  'user create': create,
  'user list': list,
  'user disable': setStatus('disabled'),
  'user enable': setStatus('active'),
  'user link-patient': linkPatient,
  'user reset-mfa': resetMfa,
  'user assign-patient': userAssignPatientCommand,
};
