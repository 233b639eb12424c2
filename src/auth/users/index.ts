export type {
  AccountClaims,
  LoginFailureReason,
  PasswordAttempt,
  PasswordVerification,
  User,
  UserCreateResult,
  UserDirectory,
  UserKind,
  UserStatus,
  UserStore,
  UserSummary,
} from '../../storage/user-ports.js';
export { userKinds, userStatuses } from '../../storage/user-ports.js';
export { accountClaims } from './account-claims.js';
export { createUserDirectory, type UserDirectoryDeps, type UserDirectoryWithStats } from './directory.js';
export {
  createHashingQueue,
  PasswordHashingBusyError,
  type HashingQueue,
  type HashingQueueStats,
} from './hashing-queue.js';
export { createLoginLockout, type LockScope, type LockState, type LoginLockout } from './lockout.js';
export { createPasswordHasher, type PasswordHasher, type PasswordHasherOptions } from './password-hasher.js';
export {
  checkPasswordPolicy,
  loadCommonPasswords,
  maxPasswordLength,
  minPasswordLength,
  type PasswordPolicyViolation,
} from './password-policy.js';
export {
  createUserAdmin,
  kindOfRole,
  summarize,
  UserAdminError,
  userRoles,
  type NewUser,
  type UserAdmin,
  type UserAdminRefusal,
} from './user-admin.js';
export { createUserServices, type UserServices, type UserServicesOptions } from './services.js';
export { isValidUsername, normalizeUsername } from './username.js';
