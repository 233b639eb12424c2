/**
 * User administration (the `caduceus user` commands, docs/users.md): create
 * with the password policy, list, enable and disable, link a Patient. Every
 * refusal is a UserAdminError with a stable reason and a message that never
 * echoes the password.
 */
import { CaduceusError } from '../../errors/index.js';
import { randomResourceId } from '../../lib/random.js';
import { isRole, type Role } from '../../http/principal.js';
import type { PasswordHasher } from './password-hasher.js';
import { checkPasswordPolicy, passwordPolicyMessages, type CommonPasswords } from './password-policy.js';
import {
  userKinds,
  type User,
  type UserKind,
  type UserStatus,
  type UserStore,
  type UserSummary,
} from '../../storage/user-ports.js';
import { isValidUsername, normalizeUsername } from './username.js';

/** Why an administrative change was refused. */
export type UserAdminRefusal =
  | 'invalid_username'
  | 'invalid_role'
  | 'invalid_kind'
  | 'kind_mismatch'
  | 'weak_password'
  | 'duplicate_username'
  | 'patient_required'
  | 'patient_not_allowed'
  | 'unknown_patient'
  | 'not_found';

/** A refused change; `message` is fit for an operator and holds no secret. */
export class UserAdminError extends CaduceusError {
  override readonly name = 'UserAdminError';
  readonly code = 'USER_ADMIN_REFUSED';
  readonly operatorSafe = true;
  constructor(
    readonly reason: UserAdminRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Roles a user account may hold: `device` is a client identity (client_credentials), never a person who logs in. */
export const userRoles: readonly Role[] = ['admin', 'clinician', 'nurse', 'billing', 'patient', 'auditor'];

/** Admin identities are separate from clinical ones: the admin role, and only it, makes an admin-kind account. */
export function kindOfRole(role: Role): UserKind {
  return role === 'admin' ? 'admin' : 'clinical';
}

/** What `user create` asks for. */
export interface NewUser {
  readonly username: string;
  readonly role: string;
  /** Optional: when given it must agree with the role. */
  readonly kind?: string;
  readonly password: string;
  readonly patientId?: string;
}

/** What administration is built from. */
export interface UserAdminDeps {
  readonly users: UserStore;
  readonly hasher: PasswordHasher;
  readonly common: CommonPasswords;
  /** True when a current, non-deleted Patient has this id. */
  readonly patientExists: (id: string) => Promise<boolean>;
  readonly now?: () => Date;
}

/** The user without its password hash. */
export function summarize(user: User): UserSummary {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    kind: user.kind,
    status: user.status,
    patientId: user.patientId,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

function checkRoleAndKind(role: string, kind: string | undefined): { role: Role; kind: UserKind } {
  if (!isRole(role) || !userRoles.includes(role))
    throw new UserAdminError('invalid_role', `--role must be one of ${userRoles.join(', ')}`);
  if (kind !== undefined && !(userKinds as readonly string[]).includes(kind))
    throw new UserAdminError('invalid_kind', '--kind must be admin or clinical');
  const expected = kindOfRole(role);
  if (kind !== undefined && kind !== expected) {
    throw new UserAdminError(
      'kind_mismatch',
      'admin identities are separate from clinical ones: only an admin-kind account holds the admin role, and it holds no other',
    );
  }
  return { role, kind: expected };
}

/** User administration over the store. */
export function createUserAdmin(deps: UserAdminDeps) {
  const { users, hasher, common, patientExists } = deps;
  const now = deps.now ?? (() => new Date());

  async function checkPatient(role: Role, patientId: string | undefined): Promise<string | null> {
    if (patientId === undefined) {
      if (role === 'patient')
        throw new UserAdminError('patient_required', 'a patient account needs --patient ID (its own Patient record)');
      return null;
    }
    if (role !== 'patient')
      throw new UserAdminError(
        'patient_not_allowed',
        'only a patient account is linked to a Patient (fhirUser, patient launch context)',
      );
    if (!(await patientExists(patientId)))
      throw new UserAdminError('unknown_patient', 'no current Patient has that id');
    return patientId;
  }

  async function update(user: User, change: (id: string, at: string) => Promise<boolean>): Promise<UserSummary> {
    if (!(await change(user.id, now().toISOString()))) throw new UserAdminError('not_found', 'no such user');
    const updated = await users.getById(user.id);
    if (updated === undefined) throw new UserAdminError('not_found', 'no such user');
    return summarize(updated);
  }

  return {
    /** Creates an active user under the password policy; the id is server-assigned. */
    async create(input: NewUser): Promise<UserSummary> {
      const username = normalizeUsername(input.username);
      if (!isValidUsername(username)) {
        throw new UserAdminError(
          'invalid_username',
          'the username must be 3–64 characters: letters, digits, ".", "_", "@", "-", starting with a letter or digit',
        );
      }
      const { role, kind } = checkRoleAndKind(input.role, input.kind);
      const violation = checkPasswordPolicy(input.password, { username, common });
      if (violation !== null) throw new UserAdminError('weak_password', passwordPolicyMessages[violation]);
      const patientId = await checkPatient(role, input.patientId);
      const at = now().toISOString();
      const user: User = {
        id: randomResourceId(),
        username,
        role,
        kind,
        status: 'active',
        passwordHash: await hasher.hash(input.password),
        patientId,
        createdAt: at,
        updatedAt: at,
      };
      if ((await users.create(user)) === 'duplicate')
        throw new UserAdminError('duplicate_username', 'that username is taken');
      return summarize(user);
    },
    /** The user with this id, else with this (normalised) username. */
    async find(ref: string): Promise<User> {
      const user = (await users.getById(ref)) ?? (await users.getByUsername(normalizeUsername(ref)));
      if (user === undefined) throw new UserAdminError('not_found', 'no such user');
      return user;
    },
    async list(options: { readonly after?: string; readonly limit: number }): Promise<UserSummary[]> {
      return (await users.list(options)).map(summarize);
    },
    setStatus(user: User, status: UserStatus): Promise<UserSummary> {
      return update(user, (id, at) => users.setStatus(id, status, at));
    },
    async linkPatient(user: User, patientId: string): Promise<UserSummary> {
      const linked = await checkPatient(user.role, patientId);
      return update(user, (id, at) => users.setPatient(id, linked, at));
    },
  };
}

/** The administration API createUserAdmin returns. */
export type UserAdmin = ReturnType<typeof createUserAdmin>;
