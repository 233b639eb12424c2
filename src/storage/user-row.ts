import { StorageError } from './errors.js';
import { isRole } from '../http/principal.js';
import { userKinds, userStatuses, type User, type UserKind, type UserStatus } from './user-ports.js';

/** A `users` row as both drivers return it. */
export interface UserRow {
  readonly id: string;
  readonly username: string;
  readonly role: string;
  readonly kind: string;
  readonly status: string;
  readonly password_hash: string;
  readonly patient_id: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** Column list of every SELECT and INSERT, in UserRow order. */
export const userColumns = 'id, username, role, kind, status, password_hash, patient_id, created_at, updated_at';

/** The row's values in column order, for an INSERT. */
export function userValues(
  user: User,
): [string, string, string, string, string, string, string | null, string, string] {
  return [
    user.id,
    user.username,
    user.role,
    user.kind,
    user.status,
    user.passwordHash,
    user.patientId,
    user.createdAt,
    user.updatedAt,
  ];
}

/** Maps a row to the port's shape; a row the schema should have refused is a storage failure, not a user. */
export function toUser(row: UserRow, operation: string): User {
  const { role, kind, status } = row;
  if (
    !isRole(role) ||
    !(userKinds as readonly string[]).includes(kind) ||
    !(userStatuses as readonly string[]).includes(status)
  ) {
    throw new StorageError(operation, 'failed');
  }
  return {
    id: row.id,
    username: row.username,
    role,
    kind: kind as UserKind,
    status: status as UserStatus,
    passwordHash: row.password_hash,
    patientId: row.patient_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
